//! The crate's layering, checked from the source: imports between top-level modules run
//! one way (no cycles), only `src/registry/` holds SQL, the leaf modules import nothing
//! but other leaves, and the command layer (`app`, `commands`, `anyhow`) stays on top.
//! `web` (the console) sits beside `daemon`, above the stages: the command layer builds
//! it, the daemon serves it, and it calls the registry and the stages like the command
//! line does (with no SQL of its own, which the SQL check below covers).
//!
//! Every .rs file under src/ is mapped to its top-level module (`src/foo.rs` and
//! `src/foo/**` → `foo`; `lib.rs` and `main.rs` are the root). Its edges are the paths that
//! start at the crate root: `crate::x…` (also grouped, `use crate::{a, b::c}`), `lndx::x…`
//! in the binary's files, and `super::…` paths that climb to the root. Comments, string
//! literals and character literals are removed first, so a doc link or a message that
//! names a module is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The root: `lib.rs` and `main.rs`.
const ROOT: &str = "(root)";

/// Small leaf types: they import nothing from the crate except other leaves.
const LEAVES: &[&str] = &[
    "kind", "filing", "spelling", "secret", "security", "shutdown", "runtime", "backoff", "queued",
];

/// The command layer: the binary, `cli`, `commands` and the `app` they build from the config.
const COMMAND_LAYER: &[&str] = &[ROOT, "cli", "commands", "app"];

/// Stages that take values and return values (ARCHITECTURE: "Stages below the registry do
/// no I/O"), and what they must therefore not import.
const PURE_STAGES: &[&str] = &["message", "forms", "rules", "reply", "mail", "text"];
const IO_MODULES: &[&str] = &[
    "registry", "mailbox", "outbox", "convert", "intake", "desk", "daemon", "health", "config",
    "app", "commands", "web", "book", "platform",
];

// ---------------------------------------------------------------------------------------
// Scanning a file

/// A source file with comments removed and literals emptied (line breaks kept, so
/// positions still give line numbers), and the text of its string literals.
struct Scanned {
    code: String,
    strings: Vec<(usize, String)>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Removes comments (line, nested block), string literals (plain, byte, C, raw with any
/// number of `#`) and character literals; keeps lifetimes.
fn scan(src: &str) -> Scanned {
    let s: Vec<char> = src.chars().collect();
    let mut code = String::with_capacity(src.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Keeps line breaks of what is dropped.
    let drop = |c: char, code: &mut String, line: &mut usize| {
        if c == '\n' {
            code.push('\n');
            *line += 1;
        }
    };
    while i < s.len() {
        let c = s[i];
        let prev_ident = i > 0 && is_ident(s[i - 1]);
        if c == '/' && s.get(i + 1) == Some(&'/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && s.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    drop(s[i], &mut code, &mut line);
                    i += 1;
                }
            }
            code.push(' ');
            continue;
        }
        // Raw strings: r"…", r#"…"#, br#"…"#, cr#"…"# (the prefix is not part of a word).
        if !prev_ident && (c == 'r' || ((c == 'b' || c == 'c') && s.get(i + 1) == Some(&'r'))) {
            let mut j = if c == 'r' { i + 1 } else { i + 2 };
            let mut hashes = 0;
            while s.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if s.get(j) == Some(&'"') {
                let start_line = line;
                let mut text = String::new();
                j += 1;
                loop {
                    if j >= s.len() {
                        break;
                    }
                    if s[j] == '"' && (0..hashes).all(|k| s.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    text.push(s[j]);
                    drop(s[j], &mut code, &mut line);
                    j += 1;
                }
                strings.push((start_line, text));
                code.push_str("\"\"");
                i = j;
                continue;
            }
        }
        // Plain, byte and C strings.
        if c == '"' || (!prev_ident && (c == 'b' || c == 'c') && s.get(i + 1) == Some(&'"')) {
            let start_line = line;
            let mut j = if c == '"' { i + 1 } else { i + 2 };
            let mut text = String::new();
            while j < s.len() && s[j] != '"' {
                if s[j] == '\\' && j + 1 < s.len() {
                    text.push(s[j]);
                    j += 1;
                }
                text.push(s[j]);
                drop(s[j], &mut code, &mut line);
                j += 1;
            }
            strings.push((start_line, text));
            code.push_str("\"\"");
            i = j + 1;
            continue;
        }
        // Character and byte literals ('a', '\n', '\u{7f}', b'{'), not lifetimes ('a,
        // 'static).
        let byte_prefix = i > 0 && s[i - 1] == 'b' && (i < 2 || !is_ident(s[i - 2]));
        if c == '\'' && (!prev_ident || byte_prefix) {
            if s.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < s.len() && s[j] != '\'' {
                    j += 1;
                }
                code.push_str("' '");
                i = j + 1;
                continue;
            }
            if s.get(i + 2) == Some(&'\'') {
                code.push_str("' '");
                i += 3;
                continue;
            }
        }
        if c == '\n' {
            line += 1;
        }
        code.push(c);
        i += 1;
    }
    Scanned { code, strings }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Path,
    Open,
    Close,
    Comma,
    Other,
}

/// Tokens with their line numbers (only what path-finding needs).
fn tokens(code: &str) -> Vec<(usize, Tok)> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident(c) {
            let start = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            out.push((line, Tok::Ident(s[start..i].iter().collect())));
        } else if c == ':' && s.get(i + 1) == Some(&':') {
            out.push((line, Tok::Path));
            i += 2;
        } else {
            out.push((
                line,
                match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Other,
                },
            ));
            i += 1;
        }
    }
    out
}

fn ident(t: Option<&(usize, Tok)>) -> Option<&str> {
    match t {
        Some((_, Tok::Ident(s))) => Some(s),
        _ => None,
    }
}

/// The first segment of each item of a group `{a, b::c, d::{e}}` starting at `toks[at]`
/// (the `{`).
fn group_heads(toks: &[(usize, Tok)], at: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for (_, t) in &toks[at..] {
        match t {
            Tok::Open => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Comma if depth == 1 => expect_head = true,
            Tok::Ident(s) if depth == 1 && expect_head => {
                heads.push(s.clone());
                expect_head = false;
            }
            _ => {
                if depth == 1 {
                    expect_head = false;
                }
            }
        }
    }
    heads
}

/// The top-level modules a file refers to, with the line of each reference. `depth` is
/// the file's module depth below the root (`src/a.rs` and `src/a/mod.rs`: 1,
/// `src/a/b.rs`: 2; the root: 0); inline `mod x { … }` blocks add to it.
fn references(code: &str, depth: usize) -> Vec<(String, usize)> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Brace depths at which inline modules were opened.
    let mut inline: Vec<usize> = Vec::new();
    let mut braces = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (line, t) = &toks[i];
        match t {
            Tok::Open => braces += 1,
            Tok::Close => {
                braces = braces.saturating_sub(1);
                if inline.last() == Some(&braces) {
                    inline.pop();
                }
            }
            // An inline module, `mod name {`: one level deeper until its brace closes.
            Tok::Ident(w)
                if w == "mod"
                    && ident(toks.get(i + 1)).is_some()
                    && toks.get(i + 2).map(|t| &t.1) == Some(&Tok::Open) =>
            {
                inline.push(braces);
                braces += 1;
                i += 3;
                continue;
            }
            Tok::Ident(w) if w == "crate" || w == "lndx" || w == "super" => {
                // The head of a path, not a segment inside one.
                let after_path = i > 0 && toks[i - 1].1 == Tok::Path;
                if !after_path {
                    // How far up the path climbs: `crate` is the root; each `super` one level.
                    let mut j = i;
                    let at_root = if w == "super" {
                        let mut ups = 0;
                        while ident(toks.get(j)) == Some("super")
                            && toks.get(j + 1).map(|t| &t.1) == Some(&Tok::Path)
                        {
                            ups += 1;
                            j += 2;
                        }
                        ups > 0 && ups == depth + inline.len()
                    } else {
                        j += 2;
                        toks.get(i + 1).map(|t| &t.1) == Some(&Tok::Path)
                    };
                    if at_root {
                        match toks.get(j) {
                            Some((_, Tok::Ident(m))) if m != "self" && m != "super" => {
                                out.push((m.clone(), *line))
                            }
                            Some((_, Tok::Open)) => {
                                for m in group_heads(&toks, j) {
                                    if m != "self" && m != "super" {
                                        out.push((m, *line));
                                    }
                                }
                            }
                            _ => {}
                        }
                        i = j;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A file's top-level module and its depth below the root.
fn module_of(rel: &Path) -> (String, usize) {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let last = parts.last().map(String::as_str).unwrap_or("");
    if parts.len() == 1 && (last == "lib.rs" || last == "main.rs") {
        return (ROOT.to_string(), 0);
    }
    let top = parts[0].trim_end_matches(".rs").to_string();
    let depth = if last == "mod.rs" {
        parts.len() - 1
    } else {
        parts.len()
    };
    (top, depth)
}

// ---------------------------------------------------------------------------------------
// The graph

/// Edges between top-level modules, each with where it was first seen.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

struct Crate {
    graph: Graph,
    files: Vec<(PathBuf, String, Scanned)>,
}

fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn load() -> Crate {
    let src = src_dir();
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    paths.sort();
    let mut graph = Graph::new();
    let mut files = Vec::new();
    for p in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let rel = p.strip_prefix(&src).unwrap().to_path_buf();
        let (top, depth) = module_of(&rel);
        let scanned = scan(&std::fs::read_to_string(&p).unwrap());
        let node = graph.entry(top.clone()).or_default();
        for (to, line) in references(&scanned.code, depth) {
            if to != top {
                node.entry(to)
                    .or_insert_with(|| format!("src/{}:{line}", rel.display()));
            }
        }
        files.push((rel, top, scanned));
    }
    Crate { graph, files }
}

/// Strongly connected components (Tarjan), each sorted; singletons included.
fn components(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(st: &mut State<'g>, v: &'g str) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        let graph = st.graph;
        for w in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on_stack.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on_stack.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            comp.sort();
            st.out.push(comp);
        }
    }
    let mut st = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    let mut nodes: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    nodes.extend(graph.values().flat_map(|e| e.keys().map(String::as_str)));
    for v in nodes {
        if !st.index.contains_key(v) {
            visit(&mut st, v);
        }
    }
    st.out
}

/// One cycle through `comp` (a component of more than one module), as the modules in order
/// and the place each import stands: found by a breadth-first search inside the component.
fn cycle_in(graph: &Graph, comp: &[String]) -> Vec<(String, String)> {
    let start = &comp[0];
    let inside: BTreeSet<&String> = comp.iter().collect();
    let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![(v.clone(), graph[v][w].clone())];
                let mut at = v;
                while at != start {
                    let from = came_from[at];
                    path.push((from.clone(), graph[from][at].clone()));
                    at = from;
                }
                path.reverse();
                return path;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

/// Every import cycle, printed as `a (src/a.rs:3) → b (src/b.rs:9) → a`.
fn cycles(graph: &Graph) -> Vec<String> {
    components(graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|comp| {
            let path = cycle_in(graph, &comp);
            let mut s: String = path
                .iter()
                .map(|(m, at)| format!("{m} (imports the next at {at}) → "))
                .collect();
            s.push_str(&comp[0]);
            format!("modules {{{}}} import each other: {s}", comp.join(", "))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The checks

#[test]
fn top_level_modules_form_a_dag() {
    let c = load();
    assert!(
        c.graph.len() > 20,
        "too few modules found: {:?}",
        c.graph.keys()
    );
    // The edges the check is meant to see are seen (a scanner that found nothing would
    // pass vacuously).
    assert!(c.graph["daemon"].contains_key("mailbox"));
    assert!(c.graph["intake"].contains_key("registry"));
    assert!(c.graph["web"].contains_key("registry"));
    assert!(c.graph["daemon"].contains_key("web"));
    let found = cycles(&c.graph);
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn leaf_modules_import_only_leaves() {
    let c = load();
    for leaf in LEAVES {
        assert!(c.graph.contains_key(*leaf), "no module {leaf}");
        let bad: Vec<String> = c.graph[*leaf]
            .iter()
            .filter(|(to, _)| !LEAVES.contains(&to.as_str()))
            .map(|(to, at)| format!("{leaf} imports {to} at {at}"))
            .collect();
        assert!(
            bad.is_empty(),
            "leaf modules must stay leaves:\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn the_command_layer_stays_on_top() {
    let c = load();
    let mut bad = Vec::new();
    for (from, edges) in &c.graph {
        let from_commands = COMMAND_LAYER.contains(&from.as_str());
        for (to, at) in edges {
            // Only the command layer builds or calls the app and the commands, and only it
            // starts the daemon.
            let top = ["app", "commands", "daemon"].contains(&to.as_str());
            if top && !from_commands {
                bad.push(format!("{from} imports {to} at {at}"));
            }
            if PURE_STAGES.contains(&from.as_str()) && IO_MODULES.contains(&to.as_str()) {
                bad.push(format!("the pure stage {from} imports {to} at {at}"));
            }
        }
    }
    // anyhow belongs to the binary and the command layer; library code has typed errors.
    for (rel, top, scanned) in &c.files {
        if !COMMAND_LAYER.contains(&top.as_str())
            && tokens(&scanned.code)
                .iter()
                .any(|(_, t)| *t == Tok::Ident("anyhow".into()))
        {
            bad.push(format!("src/{} uses anyhow", rel.display()));
        }
    }
    assert!(bad.is_empty(), "layering:\n{}", bad.join("\n"));
}

/// A string literal that reads as SQL.
fn is_sql(s: &str) -> bool {
    let words: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let after = |first: &str, then: &[&str]| {
        words
            .iter()
            .position(|w| *w == first)
            .is_some_and(|i| words[i + 1..].iter().any(|w| then.contains(w)))
    };
    after("SELECT", &["FROM"])
        || after("INSERT", &["INTO"])
        || after("UPDATE", &["SET"])
        || after("DELETE", &["FROM"])
        || after("CREATE", &["TABLE", "INDEX"])
}

#[test]
fn only_the_registry_holds_sql() {
    let c = load();
    let mut bad = Vec::new();
    for (rel, top, scanned) in &c.files {
        if top == "registry" {
            continue;
        }
        for (line, s) in &scanned.strings {
            if is_sql(s) {
                bad.push(format!("src/{}:{line}: {s:?}", rel.display()));
            }
        }
    }
    let mut all = Vec::new();
    walk(&src_dir(), &mut all);
    for p in all {
        if p.extension().is_some_and(|e| e == "sql") && !p.starts_with(src_dir().join("registry")) {
            bad.push(format!("{} is SQL outside src/registry/", p.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "SQL outside src/registry/:\n{}",
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The checker checks itself

fn graph_of(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.entry(a.to_string())
            .or_default()
            .insert(b.to_string(), format!("{a}.rs"));
    }
    g
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let dag = graph_of(&[("a", "b"), ("b", "c"), ("a", "c"), ("d", "a")]);
    assert!(cycles(&dag).is_empty());
    let planted = graph_of(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("c", "e")]);
    let found = cycles(&planted);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("{a, b, c}")
            && found[0].ends_with(
                "a (imports the next at a.rs) → b (imports the next at b.rs) → c (imports the next at c.rs) → a"
            ),
        "{}",
        found[0]
    );
    // Two separate cycles are both reported.
    let two = graph_of(&[("a", "b"), ("b", "a"), ("x", "y"), ("y", "x"), ("a", "x")]);
    assert_eq!(cycles(&two).len(), 2);
}

#[test]
fn the_scanner_sees_imports_and_nothing_else() {
    let src = r####"
//! A doc link to [`crate::daemon`] is no import; neither is "crate::config" in a string.
use crate::{
    registry::{self, Registry},
    shutdown::Shutdown,
};
use super::kind; // `super` from a top-level module is the root
/* block /* nested crate::app */ comment */
fn f<'a>(x: &'a str) -> char {
    let _ = r#"a "quoted" crate::commands"#;
    let _ = crate::health::Health::default();
    let _ = '{';
    let _ = b'{';
    let _ = b"crate::report";
    '}'
}
mod tests {
    use super::*;
    use super::super::text::word;
    use crate::campaign::Campaign;
}
"####;
    let scanned = scan(src);
    let mut refs: Vec<String> = references(&scanned.code, 1)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    refs.sort();
    refs.dedup();
    assert_eq!(
        refs,
        ["campaign", "health", "kind", "registry", "shutdown", "text"]
    );
    // In a file two levels down, one `super` stays inside the top-level module.
    let nested = scan("use super::conn;\nuse super::super::secret::Secret;\n");
    let refs: Vec<String> = references(&nested.code, 2)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(refs, ["secret"]);
    assert_eq!(
        module_of(Path::new("mailbox/imap/watch.rs")),
        ("mailbox".into(), 3)
    );
    assert_eq!(
        module_of(Path::new("mailbox/mod.rs")),
        ("mailbox".into(), 1)
    );
    assert_eq!(module_of(Path::new("main.rs")), (ROOT.into(), 0));
    assert!(is_sql("SELECT id FROM messages WHERE state = ?1"));
    assert!(is_sql("UPDATE outbox SET state = 'sending'"));
    assert!(!is_sql("SELECT {}: {e}"), "an IMAP command is not SQL");
    assert!(scanned
        .strings
        .iter()
        .any(|(_, s)| s.contains("\"quoted\"")));
}
