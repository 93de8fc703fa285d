//! The archiver domain: selection, states, transitions, stores and engine (not yet built; see issues 4 and 5).
