//! Core log records keep their structured fields apart for a record sink (a front end whose
//! logging has structured records, such as Python's), and a plain sink gets the same record
//! flattened as before (`message name=value ...`).
//!
//! One test function: the sink is process-global.

mod common;

use bridgehost::internal::sync::Mutex;
use bridgehost::logging::{
    set_log_sink, set_record_sink, FieldValue, LogLevel, LogRecord, RecordSink,
};
use bridgehost::ModuleOptions;
use std::sync::Arc;

type Seen = Vec<(String, String, Vec<(&'static str, FieldValue)>)>;

#[test]
fn fields_reach_a_record_sink_apart_and_a_plain_sink_flattened() {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s = Arc::clone(&seen);
    let sink: RecordSink = Arc::new(move |r: &LogRecord<'_>| {
        s.lock().push((
            r.target.to_string(),
            r.message.to_string(),
            r.fields.to_vec(),
        ))
    });
    set_record_sink(LogLevel::Info, Some(sink)).unwrap();
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let version = m.info().version.clone();
    set_record_sink(LogLevel::Info, None).unwrap();

    let got = seen.lock().clone();
    let opened = got
        .iter()
        .find(|(_, msg, _)| msg == "module opened")
        .unwrap_or_else(|| panic!("no 'module opened' record: {got:?}"));
    assert_eq!(opened.0, "bridgehost::host");
    assert_eq!(
        opened.2,
        vec![
            ("module", FieldValue::Str("std".into())),
            ("version", FieldValue::Str(version.clone())),
        ]
    );

    // A plain sink receives the flattened text, as it always did.
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = Arc::clone(&lines);
    set_log_sink(
        LogLevel::Info,
        Some(Arc::new(move |_lvl, _target: &str, msg: &str| {
            l.lock().push(msg.to_string())
        })),
    )
    .unwrap();
    let _again = host.open("std", ModuleOptions::default()).unwrap();
    set_log_sink(LogLevel::Info, None).unwrap();
    let lines = lines.lock().clone();
    let want = format!("module opened module=std version={version}");
    assert!(lines.contains(&want), "{want:?} not in {lines:?}");
}
