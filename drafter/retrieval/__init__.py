"""Search over the manuals: chunking, lexical BM25, vectors, the index, rank fusion."""
