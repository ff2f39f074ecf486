//! Stage graph.
