//! Prints the SQL the `execution` target generates from each input file given, to turn a
//! crash reproducer into a readable regression test.

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable input");
        println!("{};", rask_fuzz::generator::query_from_bytes(&bytes));
    }
}
