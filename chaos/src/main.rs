//! `skiff-chaos`: see the crate documentation; flags in `args`.

fn main() {
    std::process::exit(skiff_chaos::cli::main(std::env::args_os().collect()));
}
