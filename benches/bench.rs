//! Criterion benchmarks: planning the demo repository, the TUI's first frame
//! on it, and one frame of a 10,000-line diff. The TUI module is compiled in
//! from the binary's sources (the library has no terminal code).

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[allow(dead_code, unused_imports)]
#[path = "../src/tui/mod.rs"]
mod tui;

fn demo_repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("demo");
    charon::demo::write(&repo).unwrap();
    (d, repo)
}

fn session(repo: &std::path::Path) -> charon::session::Session {
    charon::session::Session::open(repo, charon::recipe::Recipe::embedded().unwrap(), None).unwrap()
}

fn benches(c: &mut Criterion) {
    let (_d, repo) = demo_repo();
    c.bench_function("plan: demo repository", |b| {
        let s = session(&repo);
        b.iter(|| s.plan().unwrap())
    });
    let keys = tui::keymap::Keymap::parse(tui::keymap::DEFAULT, None).unwrap();
    let theme = tui::ui::Theme { color: true };
    c.bench_function("tui: first frame on the demo (open + plan + draw)", |b| {
        b.iter(|| {
            let mut app = tui::app::App::new(session(&repo), None).unwrap();
            let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
            t.draw(|f| tui::ui::draw(f, &mut app, &keys, &theme))
                .unwrap();
        })
    });
    let mut app = tui::app::App::new(session(&repo), None).unwrap();
    let mut h = app.current_hunk().unwrap().clone();
    h.old_text = (0..10_000)
        .map(|i| format!("RUN apk add --no-cache package-{i} && echo {i}\n"))
        .collect();
    h.new_text = (0..10_000)
        .map(|i| {
            format!("RUN apt-get install -y --no-install-recommends package-{i} && echo {i}\n")
        })
        .collect();
    app.lines = charon::plan::hunk_lines(&h);
    app.lines_for = Some(h.id.clone());
    app.scroll = 5_000;
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("tui: one frame of a 10,000-line diff", |b| {
        b.iter(|| {
            t.draw(|f| tui::ui::draw(f, &mut app, &keys, &theme))
                .unwrap();
        })
    });
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(group);
