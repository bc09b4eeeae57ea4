//! What an overlapped operation's outcome means: a byte count, end of file, or an error.
//!
//! End of file comes two ways (PLATFORM-NOTES edge case 12): ReadFile fails at once with
//! ERROR_HANDLE_EOF, or the read is pending and its completion carries STATUS_END_OF_FILE
//! (0xC0000011; what Wine always does). Both are `Ok(0)`.

use crate::driver::RawResult;
use std::io;
use windows_sys::Win32::Foundation::{RtlNtStatusToDosError, ERROR_HANDLE_EOF, STATUS_END_OF_FILE};

/// The result of a call that failed at once with the Win32 error `code`.
pub(crate) fn from_error(code: u32) -> RawResult {
    if code == ERROR_HANDLE_EOF {
        return Ok(0);
    }
    Err(io::Error::from_raw_os_error(code as i32))
}

/// The result of a completion with NTSTATUS `status` that moved `bytes` bytes.
pub(crate) fn from_status(status: i32, bytes: u32) -> RawResult {
    if status >= 0 {
        return Ok(u64::from(bytes)); // NT_SUCCESS: success or informational
    }
    if status == STATUS_END_OF_FILE {
        return Ok(0);
    }
    // SAFETY: a pure table lookup in ntdll.
    let code = unsafe { RtlNtStatusToDosError(status) };
    from_error(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_file_both_ways_is_zero() {
        assert_eq!(from_error(ERROR_HANDLE_EOF).unwrap(), 0); // at once
        assert_eq!(from_status(STATUS_END_OF_FILE, 0).unwrap(), 0); // as a completion
    }

    #[test]
    fn success_counts_bytes_and_errors_keep_their_code() {
        assert_eq!(from_status(0, 4096).unwrap(), 4096);
        let cancelled = from_status(0xC000_0120_u32 as i32, 0).unwrap_err(); // STATUS_CANCELLED
        assert_eq!(cancelled.raw_os_error(), Some(995)); // ERROR_OPERATION_ABORTED
        let denied = from_status(0xC000_0022_u32 as i32, 0).unwrap_err(); // STATUS_ACCESS_DENIED
        assert_eq!(denied.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            from_error(5).unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
    }
}
