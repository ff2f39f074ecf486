//! EXPLAIN snapshots: the logical plan, the optimized plan (with the rules that fired) and
//! the stage graph of representative queries. Review changes with `cargo insta review`.

use rask::exec::task::ExecConfig;
use rask::{Session, SessionConfig};

fn session() -> Session {
    let config = SessionConfig {
        exec: ExecConfig {
            threads: 2,
            target_partitions: 4,
            ..ExecConfig::default()
        },
        ..SessionConfig::default()
    };
    let mut s = Session::new(config).expect("session");
    s.execute("CREATE VIEW sales AS SELECT * FROM 'testdata/sales/*.csv'")
        .expect("view");
    s
}

fn explain(sql: &str) -> String {
    session().explain(sql).expect("explain").to_string()
}

#[test]
fn group_by_is_partial_shuffle_final() {
    insta::assert_snapshot!(explain(
        "SELECT region, sum(quantity * price) AS revenue, count(*) AS n FROM sales WHERE quantity > 1 GROUP BY region ORDER BY revenue DESC"
    ));
}

#[test]
fn join_broadcasts_the_small_side() {
    insta::assert_snapshot!(explain(
        "SELECT s.region, p.name FROM sales s JOIN (SELECT * FROM (VALUES ('north', 'Nora'), ('south', 'Sam')) v(region, name)) p ON s.region = p.region WHERE s.price > 10"
    ));
}

#[test]
fn sort_with_limit_is_top_k_then_merge() {
    insta::assert_snapshot!(explain(
        "SELECT product, price FROM sales ORDER BY price DESC, product LIMIT 5"
    ));
}

#[test]
fn rules_can_be_switched_off() {
    let mut config = SessionConfig::default();
    config.disabled_rules.insert("predicate_pushdown".into());
    let s = Session::new(config).expect("session");
    let text = s
        .explain("SELECT * FROM 'testdata/sales/*.csv' WHERE quantity > 3")
        .expect("explain")
        .to_string();
    assert!(!text.contains("predicate_pushdown"), "{text}");
    assert!(text.contains("Filter: (quantity > 3)"), "{text}");
}

#[test]
fn windows_shuffle_on_partition_keys_and_share_the_shuffle() {
    insta::assert_snapshot!(explain(
        "SELECT region, row_number() OVER (PARTITION BY region ORDER BY price) AS rn, sum(quantity) OVER (PARTITION BY region ORDER BY date ROWS 2 PRECEDING) AS s, count(*) OVER () AS n FROM sales WHERE region <> 'x' QUALIFY rn <= 3"
    ));
}
