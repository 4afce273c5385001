//! Fuzz the event-log reader: arbitrary bytes through every codec path (chosen by the first byte
//! as a file-name hint; magic bytes in the data choose too) and the line parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = [
    "app", "app.zstd", "app.lz4", "app.snappy", "app.lzf", "app.gz", "app.inprogress",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let mut events = 0u64;
    let result = sparkplane_eventlog::read_stream(rest, name, |ev| {
        events += 1;
        let _ = ev.name();
    });
    let diagnostics = match result {
        Ok(d) => d,
        Err(f) => f.diagnostics,
    };
    assert_eq!(diagnostics.events_total, events);
    assert_eq!(
        diagnostics.events_total,
        diagnostics.events_by_type.values().sum::<u64>()
    );
    for line in rest.split(|b| *b == b'\n').take(4) {
        let _ = sparkplane_eventlog::parse_line(line);
    }
});
