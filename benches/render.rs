//! In-process cost of rendering the default stacks: loading and validating the stack files,
//! rendering and checking the objects, and printing them.
//!
//! `cargo bench --bench render`; the whole-process figure comes from `benches/process`.

// A benchmark that cannot load the defaults has nothing to measure; stopping is right.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use obsboot::output;
use obsboot::render::{Slots, TemplateSet, render};
use obsboot::stack::StackSource;

/// The allocator the binary uses, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn default_stacks(c: &mut Criterion) {
    let templates = TemplateSet::embedded();
    let platform = StackSource::Embedded
        .load()
        .expect("the default stacks load");
    let selected = platform.select(&[]).expect("every stack");
    let plan = render(&platform, &selected, &templates, &Slots::default())
        .expect("the default stacks render");

    c.bench_function("load stacks", |b| {
        b.iter(|| black_box(StackSource::Embedded.load().expect("load")));
    });
    // `obsboot render` leaves the rendered objects to the operating system at exit instead of
    // freeing them one by one, so the figures leave out dropping them as well (dropped after
    // the clock stops, so that the next render reuses the memory as a long run would).
    c.bench_function("render", |b| {
        b.iter_custom(|iterations| {
            timed(iterations, || {
                render(&platform, &selected, &templates, &Slots::default()).expect("render")
            })
        });
    });
    c.bench_function("to_yaml", |b| {
        b.iter(|| black_box(output::to_yaml(&plan).expect("yaml")));
    });
    c.bench_function("load + render + to_yaml", |b| {
        b.iter_custom(|iterations| {
            timed(iterations, || {
                let platform = StackSource::Embedded.load().expect("load");
                let selected = platform.select(&[]).expect("select");
                let plan = render(
                    &platform,
                    &selected,
                    &TemplateSet::embedded(),
                    &Slots::default(),
                )
                .expect("render");
                let yaml = output::to_yaml(&plan).expect("yaml");
                (plan, yaml)
            })
        });
    });
}

/// The time `iterations` runs of `run` take, each result dropped after its clock stops.
fn timed<T>(iterations: u64, mut run: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let start = Instant::now();
        let result = run();
        total += start.elapsed();
        drop(black_box(result));
    }
    total
}

criterion_group!(benches, default_stacks);
criterion_main!(benches);
