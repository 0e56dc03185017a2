//! The README's configuration table names every setting the code has.

fn paths(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                paths(&p, v, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[test]
fn readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let mut all = Vec::new();
    paths(
        "",
        &serde_json::to_value(oneauth_core::Config::default()).unwrap(),
        &mut all,
    );
    assert!(all.len() > 20);
    for p in all {
        assert!(
            readme.contains(&format!("| `{p}` |")),
            "README's configuration table lacks `{p}`"
        );
    }
}
