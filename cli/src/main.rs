//! `skiff`: the command-line client of skiff.

fn main() {
    std::process::exit(skiff_cli::run(std::env::args_os().collect()));
}
