-- v2 lets a customer leave a note with an order. A nullable column with no default is an
-- expand change: v1, still serving while v2 starts, neither reads nor writes it, and its
-- inserts leave it NULL.
ALTER TABLE orders ADD COLUMN note text;
