//! The `kaltura-archiver` binary (commands arrive with issues 3 and 5).

fn main() {
    eprintln!("kaltura-archiver: no commands yet; see the README for the simulator");
    std::process::exit(2);
}
