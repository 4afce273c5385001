//! Layouts and damage that the shared logs do not contain, built from Spark's documented formats:
//! legacy 1.x directories, malformed and unknown lines, attempt-suffixed rolling dirs, `.crc`
//! files, compaction, numeric file order, many-application directories, corrupt data.

mod common;

use common::*;
use sparkplane_eventlog::{list_applications, open, read_stream, Codec, Error, Event, Layout};

fn names_of(path: &std::path::Path) -> Vec<String> {
    let mut v = Vec::new();
    open(path)
        .expect("open")
        .for_each(|ev| v.push(ev.name().to_owned()))
        .expect("read");
    v
}

const START: &str = r#"{"Event":"SparkListenerApplicationStart","App Name":"legacy","App ID":"app-1","Timestamp":1000,"User":"u"}"#;
const END: &str = r#"{"Event":"SparkListenerApplicationEnd","Timestamp":2000}"#;
/// A Spark 1.x task end: no CPU times, no "Local Bytes Read", "Data Read Method" in input.
const TASK_END_1X: &str = r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task Type":"ShuffleMapTask","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":0,"Index":0,"Attempt":0,"Launch Time":1100,"Executor ID":"0","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":1200,"Failed":false,"Accumulables":[]},"Task Metrics":{"Host Name":"h","Executor Deserialize Time":5,"Executor Run Time":90,"Result Size":100,"JVM GC Time":0,"Result Serialization Time":0,"Memory Bytes Spilled":0,"Disk Bytes Spilled":0,"Shuffle Read Metrics":{"Remote Blocks Fetched":1,"Local Blocks Fetched":2,"Fetch Wait Time":3,"Remote Bytes Read":4},"Input Metrics":{"Data Read Method":"Hadoop","Bytes Read":10,"Records Read":2}}}"#;

#[test]
fn legacy_directory_with_old_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("app-1");
    let body = format!("{START}\n{TASK_END_1X}\n{END}\n");
    write(&app.join("EVENT_LOG_1"), body.as_bytes());
    write(&app.join("SPARK_VERSION_1.2.0"), b"");
    write(&app.join("APPLICATION_COMPLETE"), b"");
    let log = open(&app).expect("open legacy");
    assert_eq!(log.layout(), Layout::Legacy);
    assert_eq!(log.spark_version_hint(), Some("1.2.0"));
    assert!(!log.in_progress());
    let mut metrics = None;
    let d = log
        .for_each(|ev| {
            if let Event::TaskEnd(t) = ev {
                metrics = t.task_metrics.clone();
                assert_eq!(t.task_info.partition_id, None);
                assert_eq!(t.task_info.killed, None);
            }
        })
        .expect("read");
    assert_eq!(d.events_total, 3);
    let m = metrics.expect("metrics");
    assert_eq!(m.executor_run_time, Some(90));
    assert_eq!(m.executor_cpu_time, None, "absent is None, never 0");
    let sr = m.shuffle_read_metrics.expect("shuffle read");
    assert_eq!(sr.remote_bytes_read, Some(4));
    assert_eq!(sr.local_bytes_read, None);
    assert_eq!(m.input_metrics.and_then(|i| i.bytes_read), Some(10));
}

#[test]
fn legacy_directory_compressed_in_progress() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("app-2");
    let body = format!("{START}\n{TASK_END_1X}\n");
    write(&app.join("EVENT_LOG_1"), &lzf_plain_chunks(body.as_bytes()));
    write(&app.join("SPARK_VERSION_1.0.0"), b"");
    write(
        &app.join("COMPRESSION_CODEC_org.apache.spark.io.LZFCompressionCodec"),
        b"",
    );
    let log = open(&app).expect("open");
    assert!(log.in_progress());
    assert_eq!(log.files()[0].name_codec, Some(Codec::Lzf));
    let d = log.for_each(|_| {}).expect("read");
    assert_eq!(
        (d.events_total, d.codec, d.in_progress),
        (2, Codec::Lzf, true)
    );
}

#[test]
fn malformed_line_mid_file_is_counted_with_its_line_number() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("app-3");
    let body = format!(
        "{START}\n{{\"Event\":\"SparkListenerTaskEnd\",oops\n\n{END}\nnot json at all\n{END}\n"
    );
    write(&f, body.as_bytes());
    let mut seen = Vec::new();
    let d = open(&f)
        .expect("open")
        .for_each(|ev| seen.push(ev.name().to_owned()))
        .expect("read");
    assert_eq!(d.malformed_lines, 2);
    assert_eq!(d.malformed[0].line, 2);
    assert_eq!(d.malformed[1].line, 5);
    assert_eq!(d.malformed[0].file, "app-3");
    assert_eq!(d.events_total, 3);
    assert_eq!(seen.len(), 3);
    assert!(!d.truncated);
}

#[test]
fn unknown_events_are_counted_and_skipped() {
    let body = format!(
        "{START}\n{{\"Event\":\"com.acme.CustomListenerEvent\",\"payload\":[1,2]}}\n{{\"Event\":\"SparkListenerSpeculativeTaskSubmitted\",\"stageId\":1}}\n{END}\n"
    );
    let mut unknown = 0;
    let mut other = 0;
    let d = read_stream(body.as_bytes(), "app-4", |ev| match ev {
        Event::Unknown { name } => {
            assert_eq!(name, "com.acme.CustomListenerEvent");
            unknown += 1;
        }
        Event::Other { .. } => other += 1,
        _ => {}
    })
    .expect("read");
    assert_eq!((unknown, other), (1, 1));
    assert_eq!(d.unknown_events, 1);
    assert_eq!(d.events_total, 4);
    assert_eq!(d.events_by_type["com.acme.CustomListenerEvent"], 1);
    assert_eq!(d.events_total, d.events_by_type.values().sum::<u64>());
}

#[test]
fn rolling_dir_with_attempt_crc_and_numeric_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir
        .path()
        .join("eventlog_v2_application_1700000000000_0001_1");
    let id = "application_1700000000000_0001_1";
    // Files 1, 2 and 10: lexical order would read 10 before 2.
    let mk = |n: u32| format!("{{\"Event\":\"com.acme.Marker{n}\"}}\n");
    write(
        &app.join(format!("events_1_{id}.zstd")),
        &zstd_frames(&[format!("{START}\n").as_bytes(), mk(1).as_bytes()]),
    );
    write(
        &app.join(format!("events_2_{id}.zstd")),
        &zstd_frames(&[mk(2).as_bytes()]),
    );
    write(
        &app.join(format!("events_10_{id}.zstd")),
        &zstd_frames(&[mk(10).as_bytes(), format!("{END}\n").as_bytes()]),
    );
    write(
        &app.join(format!(".events_1_{id}.zstd.crc")),
        b"crc garbage",
    );
    write(&app.join(format!("appstatus_{id}")), b"");
    write(&app.join(format!(".appstatus_{id}.crc")), b"x");
    let names = names_of(&app);
    assert_eq!(
        names,
        [
            "SparkListenerApplicationStart",
            "com.acme.Marker1",
            "com.acme.Marker2",
            "com.acme.Marker10",
            "SparkListenerApplicationEnd"
        ]
    );
    let d = open(&app).expect("open").for_each(|_| {}).expect("read");
    assert_eq!(d.files, 3);
    assert_eq!(d.file_names[2], format!("events_10_{id}.zstd"));
    assert_eq!(d.codec, Codec::Zstd);
    assert!(!d.in_progress);
}

#[test]
fn compacted_rolling_dir_starts_at_newest_compact_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("eventlog_v2_local-5");
    let mk = |s: &str| format!("{{\"Event\":\"com.acme.{s}\"}}\n");
    write(&app.join("events_1_local-5"), mk("Old1").as_bytes());
    write(
        &app.join("events_2_local-5.compact"),
        mk("Compact2").as_bytes(),
    );
    write(
        &app.join("events_3_local-5.compact"),
        format!("{START}\n{}", mk("Compact3")).as_bytes(),
    );
    write(&app.join("events_4_local-5"), mk("Live4").as_bytes());
    write(&app.join("appstatus_local-5.inprogress"), b"");
    let log = open(&app).expect("open");
    assert!(log.in_progress());
    assert_eq!(
        names_of(&app),
        [
            "SparkListenerApplicationStart",
            "com.acme.Compact3",
            "com.acme.Live4"
        ]
    );
    let d = log.for_each(|_| {}).expect("read");
    assert_eq!(
        d.file_names,
        ["events_3_local-5.compact", "events_4_local-5"]
    );
    assert!(d.in_progress);
    assert!(d.warnings.iter().any(|w| w.contains("compacted")));
}

#[test]
fn directory_of_many_applications() {
    let dir = tempfile::tempdir().expect("tmp");
    let body = format!("{START}\n{END}\n");
    write(
        &dir.path().join("app-1.lz4"),
        &lz4_block(body.as_bytes(), 1 << 16),
    );
    write(&dir.path().join(".app-1.lz4.crc"), b"x");
    write(&dir.path().join("app-2.inprogress"), body.as_bytes());
    write(
        &dir.path().join("eventlog_v2_app-3/events_1_app-3"),
        body.as_bytes(),
    );
    write(&dir.path().join("eventlog_v2_app-3/appstatus_app-3"), b"");
    write(&dir.path().join("app-4/EVENT_LOG_1"), body.as_bytes());
    let apps = list_applications(dir.path()).expect("list");
    let names: Vec<_> = apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "app-1.lz4",
            "app-2.inprogress",
            "app-4",
            "eventlog_v2_app-3"
        ]
    );
    assert!(apps[1].in_progress);
    assert_eq!(apps[2].layout, Layout::Legacy);
    assert_eq!(apps[3].layout, Layout::Rolling);
    match open(dir.path()) {
        Err(Error::ManyApplications { count, .. }) => assert_eq!(count, 4),
        other => panic!("{other:?}"),
    }
    for a in &apps {
        assert_eq!(names_of(&a.path).len(), 2, "{}", a.name);
    }
}

#[test]
fn every_codec_gives_the_plain_events() {
    let plain = sample_log();
    let mut want = Vec::new();
    read_stream(&plain[..], "plain", |ev| want.push(format!("{ev:?}"))).expect("plain");
    let half = plain.len() / 2;
    let cut = half + plain[half..].iter().position(|b| *b == b'\n').expect("nl") + 1;
    let variants: Vec<(&str, Vec<u8>, Codec)> = vec![
        (
            "a.zstd",
            zstd_frames(&[&plain[..cut], &plain[cut..]]),
            Codec::Zstd,
        ),
        ("a.lz4", lz4_block(&plain, 1 << 15), Codec::Lz4),
        ("a.snappy", snappy_stream(&plain, 1 << 15), Codec::Snappy),
        ("a.lzf", lzf_plain_chunks(&plain), Codec::Lzf),
        (
            "a.gz",
            gzip_members(&[&plain[..1000], &plain[1000..]]),
            Codec::Gzip,
        ),
        // Detected by magic bytes even without a telling name.
        ("noext", lz4_block(&plain, 1 << 12), Codec::Lz4),
    ];
    for (name, bytes, codec) in variants {
        let mut got = Vec::new();
        let d = read_stream(&bytes[..], name, |ev| got.push(format!("{ev:?}")))
            .unwrap_or_else(|f| panic!("{name}: {}", f.error));
        assert_eq!(d.codec, codec, "{name}");
        assert!(!d.truncated, "{name}");
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn concatenated_lz4_and_snappy_streams() {
    let plain = sample_lines(6);
    let (a, b) = plain.split_at(plain.iter().position(|c| *c == b'\n').expect("nl") + 1);
    let lz4 = [lz4_block(a, 1 << 16), lz4_block(b, 1 << 16)].concat();
    let d = read_stream(&lz4[..], "x.lz4", |_| {}).expect("lz4");
    assert_eq!(d.events_total, 6);
    let mut sn = snappy_stream(a, 1 << 16);
    sn.extend(snappy_stream(b, 1 << 16));
    let d = read_stream(&sn[..], "x.snappy", |_| {}).expect("snappy");
    assert_eq!(d.events_total, 6);
}

#[test]
fn corrupt_zstd_names_file_and_offset_and_keeps_earlier_events() {
    let plain = sample_log();
    let lines: Vec<&[u8]> = plain.split_inclusive(|b| *b == b'\n').collect();
    let first: Vec<u8> = lines[..10].concat();
    let second: Vec<u8> = lines[10..].concat();
    let mut bytes = zstd_frames(&[&first, &second]);
    let first_len = zstd_frames(&[&first]).len();
    // Damage the middle of the second frame.
    let at = first_len + (bytes.len() - first_len) / 2;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5A;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("local-9.zstd");
    write(&f, &bytes);
    let mut n = 0;
    let failure = open(&f)
        .expect("open")
        .for_each(|_| n += 1)
        .expect_err("corrupt");
    assert!(n >= 10, "events before the damage are delivered ({n})");
    assert_eq!(failure.diagnostics.events_total, n);
    match &failure.error {
        Error::Corrupt {
            path,
            codec,
            offset,
            ..
        } => {
            assert_eq!(path, &f);
            assert_eq!(*codec, Codec::Zstd);
            assert!(
                *offset as usize >= first_len && (*offset as usize) <= bytes.len(),
                "{offset}"
            );
        }
        other => panic!("{other:?}"),
    }
    let msg = failure.error.to_string();
    assert!(
        msg.contains("local-9.zstd") && msg.contains("byte offset"),
        "{msg}"
    );
}

#[test]
fn corrupt_lz4_block_reports_block_offset() {
    let plain = sample_lines(8);
    let mut bytes = lz4_block(&plain, 1 << 12);
    // Second block header starts after the first block: find the second magic.
    let second = bytes[8..]
        .windows(8)
        .position(|w| w == b"LZ4Block")
        .expect("two blocks")
        + 8;
    bytes[second + 30] ^= 0xFF;
    let failure = read_stream(&bytes[..], "x.lz4", |_| {}).expect_err("corrupt");
    match failure.error {
        Error::Corrupt { offset, codec, .. } => {
            assert_eq!(codec, Codec::Lz4);
            assert_eq!(offset as usize, second);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn torn_last_line_is_a_quiet_end() {
    let plain = sample_lines(5);
    let torn = &plain[..plain.len() - 40];
    let d = read_stream(torn, "local-7.inprogress", |_| {}).expect("quiet end");
    assert_eq!(d.events_total, 4);
    assert!(d.truncated && d.in_progress);
    assert_eq!(d.malformed_lines, 0);
    // A last line that is complete but lacks its newline is delivered.
    let d = read_stream(&plain[..plain.len() - 1], "x", |_| {}).expect("read");
    assert_eq!((d.events_total, d.truncated), (5, false));
}

#[test]
fn incomplete_last_frame_is_a_quiet_end() {
    let plain = sample_log();
    let lines: Vec<&[u8]> = plain.split_inclusive(|b| *b == b'\n').collect();
    for (name, bytes) in [
        ("a.zstd", zstd_frames(&lines)),
        ("a.lz4", lz4_block(&plain, 1 << 14)),
        ("a.snappy", snappy_stream(&plain, 1 << 14)),
        ("a.gz", gzip_members(&[&plain])),
    ] {
        let cut = &bytes[..bytes.len() * 2 / 3];
        let d = read_stream(cut, name, |_| {}).unwrap_or_else(|f| panic!("{name}: {}", f.error));
        assert!(d.truncated, "{name}");
        assert!(
            d.events_total > 0 && d.events_total < 28,
            "{name}: {}",
            d.events_total
        );
    }
}

#[test]
fn name_and_magic_disagree() {
    let plain = sample_lines(3);
    let d = read_stream(&plain[..], "local-1.lz4", |_| {}).expect("read");
    assert_eq!((d.codec, d.events_total), (Codec::None, 3));
    assert!(d.warnings[0].contains("plain JSON"));
    let z = zstd_frames(&[&plain]);
    let d = read_stream(&z[..], "local-1.snappy", |_| {}).expect("read");
    assert_eq!((d.codec, d.events_total), (Codec::Zstd, 3));
}

#[test]
fn garbage_with_codec_name_is_corrupt_at_offset_zero() {
    let f = read_stream(&b"\x00\x01garbage-not-snappy"[..], "x.snappy", |_| {}).expect_err("bad");
    assert!(
        matches!(
            f.error,
            Error::Corrupt {
                offset: 0,
                codec: Codec::Snappy,
                ..
            }
        ),
        "{:?}",
        f.error
    );
}
