//! Data files built into the binary (see build.rs): each table is (path relative to its folder, contents),
//! sorted by path.
include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The files of one table under a folder prefix (`prefix` ends with `/`), paths relative to that folder.
pub fn files_under<'a>(
    table: &'a [(&'a str, &'a str)],
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    table
        .iter()
        .filter_map(move |(path, text)| path.strip_prefix(prefix).map(|rel| (rel, *text)))
}
