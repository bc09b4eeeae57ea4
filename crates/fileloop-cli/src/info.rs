//! `fileloop info [PATH]`: which backend fileloop picks here, and what it knows about PATH.

use std::ffi::OsString;
use std::path::PathBuf;

use fileloop::{DeviceClass, Engine};

use crate::Failure;

pub const HELP: &str = "\
Show which backend fileloop uses on this machine and, for PATH, what it knows about the file.

Usage: fileloop info [PATH]

Prints the default engine's backend (and why, for a fallback; FILELOOP_BACKEND=pool|uring|auto
chooses). For PATH (a file or directory): its type and size, the device class fileloop gives
its filesystem (network, memory, local with the rotational flag, unknown) and the direct-I/O
alignment the kernel reports (statx STATX_DIOALIGN: memory and offset alignment in bytes).

Options:
  -h, --help  Print this help";

/// Entry point of `fileloop info`.
pub fn main(args: Vec<OsString>) -> Result<(), Failure> {
    let mut path: Option<PathBuf> = None;
    for arg in args {
        match arg.to_str() {
            Some("-h" | "--help") => {
                println!("{HELP}");
                return Ok(());
            }
            Some(s) if s.starts_with('-') && s.len() > 1 => {
                return Err(Failure::usage(format!(
                    "info: unknown option '{s}' (see `fileloop info --help`)"
                )))
            }
            _ if path.is_some() => {
                return Err(Failure::usage("info: at most one PATH"));
            }
            _ => path = Some(PathBuf::from(arg)),
        }
    }
    let engine = Engine::global().map_err(|e| Failure::runtime(format!("info: {e}")))?;
    println!("backend:       {:?}", engine.backend().kind());
    println!("description:   {}", engine.backend().description());
    let Some(path) = path else { return Ok(()) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("info: cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let fail = |e: std::io::Error| Failure::runtime(format!("info: {e}"));
        let file = engine.open(&path).await.map_err(fail)?;
        let meta = file.metadata().await.map_err(fail)?;
        let kind = if meta.is_dir() {
            "directory"
        } else if meta.is_file() {
            "regular file"
        } else if meta.is_symlink() {
            "symbolic link"
        } else {
            "other"
        };
        println!("path:          {}", path.display());
        println!("type:          {kind}, {} bytes", meta.len());
        let class = match file.device_class() {
            DeviceClass::Network => "network (operations never run on the caller's thread)".into(),
            DeviceClass::Memory => "memory (tmpfs, ramfs)".into(),
            DeviceClass::Local { rotational } => format!(
                "local block device ({})",
                match rotational {
                    Some(true) => "rotational",
                    Some(false) => "non-rotational",
                    None => "rotational flag unknown",
                }
            ),
            DeviceClass::Unknown => "unknown".into(),
            #[allow(unreachable_patterns)]
            other => format!("{other:?}"),
        };
        println!("device class:  {class}");
        match meta.dio_alignment() {
            Some((mem, off)) => {
                println!(
                    "direct I/O:    memory alignment {mem} bytes, offset alignment {off} bytes"
                )
            }
            None => println!("direct I/O:    alignment not reported (or direct I/O unsupported)"),
        }
        let _ = file.close().await;
        Ok(())
    })
}
