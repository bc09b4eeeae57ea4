//! Reads, writes, vectored I/O, sync, metadata, set_len, allocate.

use crate::common::*;
use fileloop::buf::IoBuf;
use fileloop::{Engine, OpenOptions};

async fn open_rw(engine: &Engine, path: &std::path::Path) -> fileloop::File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open_with(engine, path)
        .await
        .unwrap()
}

async fn reads_at_and_past_eof(engine: Engine) {
    let dir = tempdir();
    let data = pattern(10_000);
    let path = std_file(&dir, "f", &data);
    let file = engine.open(&path).await.unwrap();
    let (n, buf) = file.read_at(vec![0u8; 4096], 100).await;
    assert_eq!(n.unwrap(), 4096);
    assert_eq!(&buf[..], &data[100..4196]);
    // Short read at the tail.
    let (n, buf) = file.read_at(Vec::with_capacity(4096), 9_000).await;
    assert_eq!(n.unwrap(), 1000);
    assert_eq!(buf.len(), 1000, "only the bytes read are initialised");
    assert_eq!(&buf[..], &data[9000..]);
    // At and past EOF: Ok(0).
    let (n, _) = file.read_at(vec![0u8; 10], 10_000).await;
    assert_eq!(n.unwrap(), 0);
    let (n, _) = file.read_at(vec![0u8; 10], 1 << 40).await;
    assert_eq!(n.unwrap(), 0);
    // An empty buffer reads nothing.
    let (n, _) = file.read_at(Vec::new(), 0).await;
    assert_eq!(n.unwrap(), 0);
}

async fn read_into_slice_fills_only_the_range(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "f", b"abcdef");
    let file = engine.open(&path).await.unwrap();
    let (n, s) = file.read_at(vec![b'.'; 8].slice(2..5), 1).await;
    assert_eq!(n.unwrap(), 3);
    assert_eq!(&s.into_inner()[..], b"..bcd...");
}

async fn writes_at_offsets(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("w");
    let file = open_rw(&engine, &path).await;
    let (n, _) = file.write_at(b"world".to_vec(), 6).await;
    assert_eq!(n.unwrap(), 5);
    let (n, _) = file.write_at(b"hello ".to_vec(), 0).await;
    assert_eq!(n.unwrap(), 6);
    // A hole: bytes between are zero.
    let (res, _) = file.write_all_at(&b"!"[..], 20).await;
    res.unwrap();
    file.sync_all().await.unwrap();
    let mut want = b"hello world".to_vec();
    want.resize(20, 0);
    want.push(b'!');
    assert_eq!(std::fs::read(&path).unwrap(), want);
    // Writing a slice writes only its part.
    let (n, _) = file.write_at(b"XXabcXX".to_vec().slice(2..5), 0).await;
    assert_eq!(n.unwrap(), 3);
    assert_eq!(&std::fs::read(&path).unwrap()[..5], b"abclo");
}

async fn vectored_io(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("v");
    let file = open_rw(&engine, &path).await;
    let bufs = vec![b"one-".to_vec(), b"two-".to_vec(), b"three".to_vec()];
    let (n, bufs) = file.write_vectored_at(bufs, 3).await;
    assert_eq!(n.unwrap(), 13);
    assert_eq!(bufs.len(), 3);
    let (n, bufs) = file
        .read_vectored_at(vec![vec![0u8; 5], Vec::with_capacity(20)], 0)
        .await;
    assert_eq!(n.unwrap(), 16);
    assert_eq!(&bufs[0][..], b"\0\0\0on");
    assert_eq!(&bufs[1][..], b"e-two-three");
}

async fn read_exact_write_all_and_to_end(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("big");
    let data = pattern(3 << 20);
    let file = open_rw(&engine, &path).await;
    let (res, back) = file.write_all_at(data.clone(), 7).await;
    res.unwrap();
    assert_eq!(back.len(), data.len());
    let (res, buf) = file.read_exact_at(Vec::with_capacity(data.len()), 7).await;
    res.unwrap();
    assert!(buf == data);
    let (n, all) = file.read_to_end(b"prefix".to_vec()).await;
    assert_eq!(n.unwrap(), data.len() + 7);
    assert_eq!(&all[..6], b"prefix");
    assert!(all[13..] == data[..]);
    // Past the end: UnexpectedEof, and what was read stays in the buffer.
    let (res, buf) = file
        .read_exact_at(vec![0u8; 100], data.len() as u64 - 3)
        .await;
    assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(&buf[..10], &data[data.len() - 10..]);
}

async fn sync_variants(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("s");
    let file = open_rw(&engine, &path).await;
    let (res, _) = file.write_all_at(pattern(8192), 0).await;
    res.unwrap();
    file.sync_data().await.unwrap();
    file.sync_range(0, 8192).await.unwrap();
    file.sync_all().await.unwrap();
    file.close().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), pattern(8192));
}

async fn metadata_matches_std(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "m", &pattern(1234));
    let file = engine.open(&path).await.unwrap();
    let ours = file.metadata().await.unwrap();
    let std = std::fs::metadata(&path).unwrap();
    assert_eq!(ours.len(), 1234);
    assert!(ours.is_file() && !ours.is_dir() && !ours.is_symlink());
    assert_eq!(ours.permissions(), std.permissions());
    assert_eq!(ours.modified().unwrap(), std.modified().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!((ours.dev(), ours.ino()), (std.dev(), std.ino()));
        assert_eq!((ours.mode(), ours.nlink()), (std.mode(), std.nlink()));
        assert_eq!((ours.uid(), ours.gid()), (std.uid(), std.gid()));
    }
}

async fn set_len_grows_and_shrinks(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "l", b"0123456789");
    let file = open_rw(&engine, &path).await;
    file.set_len(4).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"0123");
    file.set_len(6).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"0123\0\0");
    assert_eq!(file.metadata().await.unwrap().len(), 6);
}

async fn allocate_and_punch_hole(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("a");
    let file = open_rw(&engine, &path).await;
    match file.allocate(0, 1 << 20).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            println!("skipped: allocate unsupported here: {e}");
            return;
        }
        Err(e) => panic!("allocate: {e}"),
    }
    assert_eq!(file.metadata().await.unwrap().len(), 1 << 20);
    let (res, _) = file.write_all_at(vec![7u8; 65536], 0).await;
    res.unwrap();
    match file.punch_hole(4096, 8192).await {
        Ok(()) => {
            let (res, buf) = file.read_exact_at(vec![1u8; 16384], 0).await;
            res.unwrap();
            assert!(buf[..4096].iter().all(|&b| b == 7));
            assert!(buf[4096..12288].iter().all(|&b| b == 0));
            assert!(buf[12288..].iter().all(|&b| b == 7));
            assert_eq!(file.metadata().await.unwrap().len(), 1 << 20);
        }
        Err(e) => println!("punch_hole unsupported on this filesystem: {e}"),
    }
}

async fn append_mode_reserves_ranges(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "log", b"head\n");
    let file = OpenOptions::new()
        .append(true)
        .open_with(&engine, &path)
        .await
        .unwrap();
    let lines: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("line {i:04}\n").into_bytes())
        .collect();
    let results = futures::future::join_all(lines.iter().map(|l| file.append(l.clone()))).await;
    let mut offsets: Vec<u64> = results.into_iter().map(|(r, _)| r.unwrap()).collect();
    offsets.sort();
    assert_eq!(offsets[0], 5);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 5 + 200 * 10);
    let mut got: Vec<&str> = text.lines().skip(1).collect();
    got.sort();
    assert_eq!(got.len(), 200);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "no line lost or torn");
    // Not in append mode: a clear error.
    let plain = open_rw(&engine, &dir.path().join("x")).await;
    assert_eq!(
        plain.append(b"x".to_vec()).await.0.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

async fn close_and_drop(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("c");
    let file = open_rw(&engine, &path).await;
    let (res, _) = file.write_all_at(b"data".to_vec(), 0).await;
    res.unwrap();
    file.close().await.unwrap();
    // Dropping closes too: many opens without close must not exhaust descriptors.
    for _ in 0..3000 {
        let f = engine.open(&path).await.unwrap();
        drop(f);
    }
}

async fn engine_write_and_remove_file(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("w");
    engine.write(&path, b"first, longer").await.unwrap();
    engine.write(&path, b"second").await.unwrap(); // truncates
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    let err = engine
        .write(dir.path().join("no/such/dir"), b"x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("write"), "{err}");
    engine.remove_file(&path).await.unwrap();
    assert!(!path.exists());
    let err = engine.remove_file(&path).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

per_backend!(
    engine_write_and_remove_file,
    reads_at_and_past_eof,
    read_into_slice_fills_only_the_range,
    writes_at_offsets,
    vectored_io,
    read_exact_write_all_and_to_end,
    sync_variants,
    metadata_matches_std,
    set_len_grows_and_shrinks,
    allocate_and_punch_hole,
    append_mode_reserves_ranges,
    close_and_drop,
);

/// Operations that complete after submission, one at a time, with nothing else submitted that
/// could reap them along the way: O_DIRECT reads complete through task work, buffered writes
/// in an io-wq worker. Each must wake its future by itself.
#[cfg(target_os = "linux")]
async fn lone_async_completions_are_delivered(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "d", &pattern(1 << 20));
    let direct = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open_with(&engine, &path)
        .await;
    let Ok(direct) = direct else {
        println!("skipped: O_DIRECT refused here");
        return;
    };
    for i in 0..200u64 {
        let buf = fileloop::buf::AlignedBuf::new(4096, 4096).unwrap();
        let (n, buf) = direct.read_at(buf, (i % 256) * 4096).await;
        assert_eq!(n.unwrap(), 4096);
        assert_eq!(
            &buf[..16],
            &pattern(1 << 20)[(i % 256) as usize * 4096..][..16]
        );
    }
    let out = open_rw(&engine, &dir.path().join("w")).await;
    for i in 0..200u64 {
        let (n, _) = out.write_at(vec![1u8; 4096], i * 4096).await;
        assert_eq!(n.unwrap(), 4096);
    }
}

#[cfg(target_os = "linux")]
mod linux_only {
    use super::*;
    per_backend!(lone_async_completions_are_delivered);
}
