// Anchor for the precompiled Boost headers shared by all targets.
