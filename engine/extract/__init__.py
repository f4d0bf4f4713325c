"""Reading source records and delivering them in the shape specs are written against."""
