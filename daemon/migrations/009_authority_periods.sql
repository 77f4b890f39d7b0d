-- 009: authorities as they were at the time. A name may stand for several
-- authorities over the years ("Somerset": the county E10000027 until
-- 2023-03-31, the unitary E06000066 from 2023-04-01), so ref.authority_alias
-- holds one row per (name, code) instead of one code per name; the daemon
-- picks the code whose ref.authority validity covers the record's period.
-- Existing rows stay as they are (each was one code per name); the next
-- `shelfsync ref load authorities` adds the names of abolished authorities.
-- Depends on 003.

ALTER TABLE ref.authority_alias DROP CONSTRAINT authority_alias_pkey;
ALTER TABLE ref.authority_alias ADD PRIMARY KEY (alias_key, code);

COMMENT ON TABLE ref.authority_alias IS 'Names sources use for authorities, by normalised key; the daemon resolves an authority name to its GSS code here. A name may stand for several codes whose validity (ref.authority valid_from .. valid_to) does not overlap, e.g. Somerset for E10000027 until 2023-03-31 and E06000066 from 2023-04-01: a record gets the one valid for its period. A name two authorities used at the same time keeps the first code recorded and is reported when loaded';
COMMENT ON COLUMN ref.authority_alias.code IS 'GSS code the name stands for (ref.authority.code); one row for each authority that used the name';
