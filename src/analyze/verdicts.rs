//! Verdicts: "backup X failed because …", from the findings on it, most specific first.
