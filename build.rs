//! Rebuilds the binary when the embedded stack files or templates change (`include_dir!`
//! cannot tell cargo about them on stable Rust).

fn main() {
    println!("cargo:rerun-if-changed=stacks");
    println!("cargo:rerun-if-changed=templates");
}
