/*
 * A stand-in bcryptprimitives.dll for running Rust test binaries under Wine.
 *
 * Rust's standard library on Windows gets its random numbers (for example
 * the keys of HashMap) from ProcessPrng in bcryptprimitives.dll. Wine 8.0,
 * the version Debian 12 ships, has no such DLL, so every Rust program fails
 * to start. This DLL provides ProcessPrng and fills the buffer with advapi32's
 * RtlGenRandom, exported as SystemFunction036, which Wine does have.
 *
 * scripts/windows/wine-runner builds it with x86_64-w64-mingw32-gcc and puts
 * it into the Wine prefix's system32. It is never used on real Windows.
 */
#include <windows.h>

/* advapi32's RtlGenRandom; ntsecapi.h declares it only through a macro. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        /* RtlGenRandom takes a 32-bit length, so fill large buffers in chunks. */
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
