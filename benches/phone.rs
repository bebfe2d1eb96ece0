//! Micro-benchmark of phone parsing: `cargo bench --bench phone`.
//! Reports nanoseconds per number over the written forms a spreadsheet holds.

use std::hint::black_box;
use std::time::Instant;

use flokon_api::domain::Phone;

fn main() {
    let inputs = [
        "418-555-0123",
        "(418) 555-0123",
        "1 418 555 0123",
        "+1 (581) 555.0199",
        "4185550123",
        "418-555-0123 poste 12",
        "911-555-0123",
        "555-0123",
    ];
    let rounds = 2_000_000;
    // Warm up, then measure.
    for input in inputs {
        let _ = black_box(Phone::parse(black_box(input)));
    }
    let start = Instant::now();
    let mut valid = 0usize;
    for i in 0..rounds {
        if Phone::parse(black_box(inputs[i % inputs.len()])).is_ok() {
            valid += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "Phone::parse: {:.1} ns a number ({rounds} numbers, {valid} valid, {:.3} s per 100,000)",
        elapsed.as_nanos() as f64 / rounds as f64,
        elapsed.as_secs_f64() / rounds as f64 * 100_000.0
    );
}
