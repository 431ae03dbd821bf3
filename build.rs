// The migrations are embedded by `sqlx::migrate!`: rebuild when one is added or edited
// (a proc macro alone is not re-run for a change outside the sources).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
