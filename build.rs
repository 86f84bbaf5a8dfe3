//! Embeds the demo screenshots (`assets/demo/screenshots/*.png`) so `vigil --demo` runs from the binary
//! alone.
use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/screenshots");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out =
        String::from("/// The demo screenshots, by file name.\npub static DEMO_SCREENSHOTS: &[(&str, &[u8])] = &[\n");
    for n in &names {
        let _ = writeln!(out, "    ({n:?}, include_bytes!({:?})),", dir.join(n).display().to_string());
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("demo_screenshots.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
