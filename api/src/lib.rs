//! skiff-api: the API model every skiff component shares.
