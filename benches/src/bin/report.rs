fn main() { eprintln!("report: not yet"); }
