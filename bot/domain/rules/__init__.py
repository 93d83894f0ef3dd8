"""The shock-rule language: parse → validated tree → compiled evaluators."""
