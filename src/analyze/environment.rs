//! The environment table, the backups/restores table, and volumes no backup covers.
