// The web clients are embedded from kiosk-assets/ (rust-embed). Rebuild when any of them
// changes, including files added or removed, which the derive alone does not notice.
fn main() {
    println!("cargo:rerun-if-changed=../../kiosk-assets");
}
