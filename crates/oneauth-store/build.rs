// sqlx's `migrate!` reads the migration files at compile time, but Cargo
// does not see them: without this a new migration would not rebuild the
// crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
