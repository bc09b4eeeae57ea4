//! 4 KiB reads of a file in the page cache, one at a time: the cost fileloop adds around the
//! kernel's ~1 µs, per backend, against std's pread.

use criterion::{criterion_group, criterion_main, Criterion};
use fileloop::{BackendChoice, Engine};
use std::hint::black_box;

fn hot_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot");
    std::fs::write(&path, vec![9u8; 1 << 20]).unwrap();
    let mut group = c.benchmark_group("hot_read_4k");

    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(&path).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut i = 0u64;
        group.bench_function("std_pread", |b| {
            b.iter(|| {
                i = (i + 1) % 256;
                black_box(file.read_at(&mut buf, i * 4096).unwrap())
            })
        });
    }

    for choice in [BackendChoice::Uring, BackendChoice::Pool] {
        let Ok(engine) = Engine::builder().backend(choice).ignore_env().build() else {
            continue;
        };
        let file = futures::executor::block_on(engine.open(&path)).unwrap();
        let mut buf = Some(vec![0u8; 4096]);
        let mut i = 0u64;
        group.bench_function(format!("fileloop_{choice:?}").to_lowercase(), |b| {
            b.iter(|| {
                i = (i + 1) % 256;
                let (n, back) =
                    futures::executor::block_on(file.read_at(buf.take().unwrap(), i * 4096));
                buf = Some(back);
                black_box(n.unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hot_read);
criterion_main!(benches);
