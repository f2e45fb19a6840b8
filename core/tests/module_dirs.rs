//! `Host::add_module_dir` (issue 14 item 4): a directory added to a running host is searched by
//! name from the next `open`, and a bad directory is a typed error that changes nothing.
//!
//! Checked to fail without the mechanism: with the added directories left out of `open`'s search
//! (`resolve_module(spec, &options.module_dirs)`), the open after the add is `NotFound`.

mod common;

use bridgehost::{ErrorKind, Host, HostOptions, ModuleOptions};

#[test]
fn an_added_directory_is_searched_by_name() {
    let tmp = std::env::temp_dir().join(format!("bh-module-dirs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // The std module under a name found nowhere else (not in BRIDGEHOST_MODULE_PATH either).
    std::fs::copy(
        common::dist().join("libbridgehost_mod_std.so"),
        tmp.join("libbridgehost_mod_bh_added_probe.so"),
    )
    .unwrap();
    let host = Host::with_options(HostOptions::default()).unwrap();
    let before = host.open("bh_added_probe", ModuleOptions::default());
    assert_eq!(before.err().map(|e| e.kind()), Some(ErrorKind::NotFound));

    // Bad directories: typed errors, nothing added.
    let missing = tmp.join("no-such-dir");
    let e = host.add_module_dir(&missing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let file = tmp.join("libbridgehost_mod_bh_added_probe.so");
    let e = host.add_module_dir(&file).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = host.add_module_dir("").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(host.module_dirs().is_empty());

    host.add_module_dir(&tmp).unwrap();
    host.add_module_dir(&tmp).unwrap(); // already searched: no duplicate
    assert_eq!(host.module_dirs(), vec![tmp.clone()]);
    let m = host
        .open("bh_added_probe", ModuleOptions::default())
        .expect("the module in the added directory opens by name");
    assert_eq!(m.method("echo").unwrap().call(b"hi").unwrap(), b"hi");
    m.close();

    host.close();
    let e = host.add_module_dir(&tmp).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Issue 17: `HostOptions::module_dirs` entries obey the same rule as `add_module_dir`
/// (`bridgehost::options::check_module_dir`), so no runtime can hand the core an empty or
/// missing directory that would later make a name lookup misleading.
#[test]
fn option_directories_obey_the_same_rule() {
    let tmp = std::env::temp_dir().join(format!("bh-module-dirs-opt-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let with = |dirs: Vec<std::path::PathBuf>| {
        Host::with_options(HostOptions {
            module_dirs: dirs,
            ..HostOptions::default()
        })
    };
    let e = with(vec![tmp.clone(), "".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid argument: module_dirs: entry 2 is empty"
    );
    let missing = tmp.join("no-such-dir");
    let e = with(vec![missing.clone()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "not found: module_dirs: entry 1 {}: no such directory",
            missing.display()
        )
    );
    std::fs::write(tmp.join("file"), b"").unwrap();
    let e = with(vec![tmp.join("file")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = with(vec![std::path::PathBuf::from(std::ffi::OsString::from(
        "a\0b",
    ))])
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // A relative entry is kept as the absolute path it named when the host was created.
    let host = with(vec![".".into()]).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(host.module_dirs(), vec![cwd.clone()]);
    host.add_module_dir(&cwd).unwrap(); // already searched: no duplicate
    assert_eq!(host.module_dirs(), vec![cwd]);
    host.close();
    std::fs::remove_dir_all(&tmp).unwrap();
}
