//! FUSE test filesystem.
