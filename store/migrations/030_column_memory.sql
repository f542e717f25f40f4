-- Column-mapping corrections a user made on the upload page, remembered per source (file name and
-- sheet), so the next upload of the same sheet maps itself.
CREATE TABLE column_memory (
    source VARCHAR NOT NULL,
    sheet VARCHAR NOT NULL,
    header VARCHAR NOT NULL,
    column_name VARCHAR,          -- NULL: ignore this column
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, sheet, header)
);
