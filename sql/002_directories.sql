-- 002_directories.sql — 一单两库: the item list and the two directories
-- (market entities and construction projects; inspectors with the expert
-- pool), declared conflicts of interest, bulk imports, calendar overrides.
--
-- Every directory has the same shape, mirroring common/dirschema.c:
--   <d>_versions     append-only history: every change is a new version with
--                    who, when, why; never updated or deleted (全过程留痕);
--   <d>_current      the latest version of each record;
--   import_rows_<d>  unlogged staging where an import's validated rows wait
--                    until the import commits (all rows or none).
-- "As of" a time T is the latest version with changed_at <= T.

-- entity: 市场主体名录
CREATE TABLE entity_versions (
    record_id                text NOT NULL,
    version                  integer NOT NULL CHECK (version >= 1),
    credit_code              text NOT NULL,
    name                     text NOT NULL,
    business_category        text NOT NULL DEFAULT '',
    address                  text NOT NULL DEFAULT '',
    legal_representative     text NOT NULL DEFAULT '',
    division_code            text NOT NULL,
    entity_type              text NOT NULL DEFAULT '',
    scale                    text,
    industry                 text NOT NULL DEFAULT '',
    supervising_department   text NOT NULL DEFAULT '',
    risk_level               text NOT NULL,
    credit_class             text NOT NULL,
    abnormal_operation       boolean NOT NULL,
    serious_violation        boolean NOT NULL,
    complaint_count          integer,
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL,
    changed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by               text NOT NULL,
    reason                   text NOT NULL,
    import_id                bigint,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER entity_versions_append_only BEFORE UPDATE OR DELETE ON entity_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER entity_versions_no_truncate BEFORE TRUNCATE ON entity_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW entity_current AS
    SELECT DISTINCT ON (record_id) * FROM entity_versions ORDER BY record_id, version DESC;
-- Staging for imports: rows wait here, validated, until the import commits.
CREATE UNLOGGED TABLE import_rows_entity (
    import_id                bigint NOT NULL,
    line                     bigint NOT NULL,
    record_id                text NOT NULL,
    credit_code              text NOT NULL,
    name                     text NOT NULL,
    business_category        text NOT NULL DEFAULT '',
    address                  text NOT NULL DEFAULT '',
    legal_representative     text NOT NULL DEFAULT '',
    division_code            text NOT NULL,
    entity_type              text NOT NULL DEFAULT '',
    scale                    text,
    industry                 text NOT NULL DEFAULT '',
    supervising_department   text NOT NULL DEFAULT '',
    risk_level               text NOT NULL,
    credit_class             text NOT NULL,
    abnormal_operation       boolean NOT NULL,
    serious_violation        boolean NOT NULL,
    complaint_count          integer,
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL
);
CREATE INDEX import_rows_entity_import ON import_rows_entity (import_id);

-- project: 工程项目名录
CREATE TABLE project_versions (
    record_id                text NOT NULL,
    version                  integer NOT NULL CHECK (version >= 1),
    project_code             text NOT NULL,
    name                     text NOT NULL,
    builder_credit_code      text,
    builder_name             text NOT NULL DEFAULT '',
    address                  text NOT NULL DEFAULT '',
    division_code            text NOT NULL,
    project_type             text NOT NULL DEFAULT '',
    scale                    text,
    supervising_department   text NOT NULL DEFAULT '',
    risk_level               text NOT NULL,
    credit_class             text NOT NULL,
    serious_violation        boolean NOT NULL,
    complaint_count          integer,
    status                   text NOT NULL,
    started_on               date,
    completed_on             date,
    content_sha256           bytea NOT NULL,
    changed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by               text NOT NULL,
    reason                   text NOT NULL,
    import_id                bigint,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER project_versions_append_only BEFORE UPDATE OR DELETE ON project_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER project_versions_no_truncate BEFORE TRUNCATE ON project_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW project_current AS
    SELECT DISTINCT ON (record_id) * FROM project_versions ORDER BY record_id, version DESC;
-- Staging for imports: rows wait here, validated, until the import commits.
CREATE UNLOGGED TABLE import_rows_project (
    import_id                bigint NOT NULL,
    line                     bigint NOT NULL,
    record_id                text NOT NULL,
    project_code             text NOT NULL,
    name                     text NOT NULL,
    builder_credit_code      text,
    builder_name             text NOT NULL DEFAULT '',
    address                  text NOT NULL DEFAULT '',
    division_code            text NOT NULL,
    project_type             text NOT NULL DEFAULT '',
    scale                    text,
    supervising_department   text NOT NULL DEFAULT '',
    risk_level               text NOT NULL,
    credit_class             text NOT NULL,
    serious_violation        boolean NOT NULL,
    complaint_count          integer,
    status                   text NOT NULL,
    started_on               date,
    completed_on             date,
    content_sha256           bytea NOT NULL
);
CREATE INDEX import_rows_project_import ON import_rows_project (import_id);

-- inspector: 执法检查人员名录（含专家库）
CREATE TABLE inspector_versions (
    record_id                text NOT NULL,
    version                  integer NOT NULL CHECK (version >= 1),
    inspector_id             text NOT NULL,
    name                     text NOT NULL,
    gender                   text,
    birth_year               integer,
    department               text NOT NULL,
    position                 text NOT NULL DEFAULT '',
    certificate_no           text NOT NULL,
    certificate_issuer       text NOT NULL DEFAULT '',
    certificate_valid_from   date NOT NULL,
    certificate_valid_to     date NOT NULL,
    categories               text NOT NULL,
    specialties              text NOT NULL DEFAULT '',
    jurisdiction             text NOT NULL,
    status                   text NOT NULL,
    is_expert                boolean NOT NULL,
    expert_organisation      text NOT NULL DEFAULT '',
    expert_field             text NOT NULL DEFAULT '',
    content_sha256           bytea NOT NULL,
    changed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by               text NOT NULL,
    reason                   text NOT NULL,
    import_id                bigint,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER inspector_versions_append_only BEFORE UPDATE OR DELETE ON inspector_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER inspector_versions_no_truncate BEFORE TRUNCATE ON inspector_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW inspector_current AS
    SELECT DISTINCT ON (record_id) * FROM inspector_versions ORDER BY record_id, version DESC;
-- Staging for imports: rows wait here, validated, until the import commits.
CREATE UNLOGGED TABLE import_rows_inspector (
    import_id                bigint NOT NULL,
    line                     bigint NOT NULL,
    record_id                text NOT NULL,
    inspector_id             text NOT NULL,
    name                     text NOT NULL,
    gender                   text,
    birth_year               integer,
    department               text NOT NULL,
    position                 text NOT NULL DEFAULT '',
    certificate_no           text NOT NULL,
    certificate_issuer       text NOT NULL DEFAULT '',
    certificate_valid_from   date NOT NULL,
    certificate_valid_to     date NOT NULL,
    categories               text NOT NULL,
    specialties              text NOT NULL DEFAULT '',
    jurisdiction             text NOT NULL,
    status                   text NOT NULL,
    is_expert                boolean NOT NULL,
    expert_organisation      text NOT NULL DEFAULT '',
    expert_field             text NOT NULL DEFAULT '',
    content_sha256           bytea NOT NULL
);
CREATE INDEX import_rows_inspector_import ON import_rows_inspector (import_id);

-- item: 随机抽查事项清单
CREATE TABLE item_versions (
    record_id                text NOT NULL,
    version                  integer NOT NULL CHECK (version >= 1),
    item_code                text NOT NULL,
    name                     text NOT NULL,
    legal_basis              text NOT NULL,
    department               text NOT NULL,
    content                  text NOT NULL DEFAULT '',
    method                   text NOT NULL,
    frequency                text NOT NULL DEFAULT '',
    category                 text NOT NULL,
    object_types             text NOT NULL,
    enforcement_category     text NOT NULL,
    level                    text NOT NULL DEFAULT '',
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL,
    changed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by               text NOT NULL,
    reason                   text NOT NULL,
    import_id                bigint,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER item_versions_append_only BEFORE UPDATE OR DELETE ON item_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER item_versions_no_truncate BEFORE TRUNCATE ON item_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW item_current AS
    SELECT DISTINCT ON (record_id) * FROM item_versions ORDER BY record_id, version DESC;
-- Staging for imports: rows wait here, validated, until the import commits.
CREATE UNLOGGED TABLE import_rows_item (
    import_id                bigint NOT NULL,
    line                     bigint NOT NULL,
    record_id                text NOT NULL,
    item_code                text NOT NULL,
    name                     text NOT NULL,
    legal_basis              text NOT NULL,
    department               text NOT NULL,
    content                  text NOT NULL DEFAULT '',
    method                   text NOT NULL,
    frequency                text NOT NULL DEFAULT '',
    category                 text NOT NULL,
    object_types             text NOT NULL,
    enforcement_category     text NOT NULL,
    level                    text NOT NULL DEFAULT '',
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL
);
CREATE INDEX import_rows_item_import ON import_rows_item (import_id);

-- conflict: 利害关系
CREATE TABLE conflict_versions (
    record_id                text NOT NULL,
    version                  integer NOT NULL CHECK (version >= 1),
    inspector_id             text NOT NULL,
    object_id                text NOT NULL,
    division_code            text NOT NULL,
    relationship             text NOT NULL,
    source                   text NOT NULL,
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL,
    changed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by               text NOT NULL,
    reason                   text NOT NULL,
    import_id                bigint,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER conflict_versions_append_only BEFORE UPDATE OR DELETE ON conflict_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER conflict_versions_no_truncate BEFORE TRUNCATE ON conflict_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW conflict_current AS
    SELECT DISTINCT ON (record_id) * FROM conflict_versions ORDER BY record_id, version DESC;
-- Staging for imports: rows wait here, validated, until the import commits.
CREATE UNLOGGED TABLE import_rows_conflict (
    import_id                bigint NOT NULL,
    line                     bigint NOT NULL,
    record_id                text NOT NULL,
    inspector_id             text NOT NULL,
    object_id                text NOT NULL,
    division_code            text NOT NULL,
    relationship             text NOT NULL,
    source                   text NOT NULL,
    status                   text NOT NULL,
    content_sha256           bytea NOT NULL
);
CREATE INDEX import_rows_conflict_import ON import_rows_conflict (import_id);

CREATE TABLE imports (
    id              bigserial PRIMARY KEY,
    directory       text NOT NULL,
    principal_id    text NOT NULL,
    file_name       text NOT NULL DEFAULT '',
    file_sha256     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'applied', 'failed', 'dry_run', 'abandoned')),
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    rows_total      bigint,
    new_records     bigint,
    changed_records bigint,
    error_count     bigint
);

-- The directory columns of a staging table, in declaration order.
CREATE FUNCTION directory_columns(p_directory text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(attname::text ORDER BY attnum)
      FROM pg_attribute
     WHERE attrelid = ('import_rows_' || p_directory)::regclass
       AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('import_id', 'line', 'record_id', 'content_sha256');
$$;

-- Commits (or, with p_dry_run, only evaluates) an import: every staged row
-- becomes a new version if it is new or differs from the current version;
-- identical rows change nothing.  Refused as a whole when the chunks had
-- errors (p_chunk_errors), when a record id appears twice in the file, or
-- when a row would change a record of another jurisdiction (p_prefix: the
-- division-code prefix the actor may change; '' for all).  Returns a JSON
-- report; the staging rows are removed in every case.
CREATE FUNCTION import_commit(p_import bigint, p_actor text, p_prefix text, p_division_col text,
                              p_dry_run boolean, p_reason text, p_request_sha256 text,
                              p_chunk_errors bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    imp imports%ROWTYPE;
    cols text[];
    staging text;
    versions text;
    errs jsonb;
    n_err bigint;
    n_rows bigint;
    n_new bigint;
    n_changed bigint;
    applied boolean := false;
    outcome text;
BEGIN
    SELECT * INTO imp FROM imports WHERE id = p_import FOR UPDATE;
    IF NOT FOUND OR imp.principal_id <> p_actor THEN
        RAISE EXCEPTION 'no open import % of yours', p_import
            USING ERRCODE = 'SS013', DETAIL = '没有您发起的编号为 ' || p_import || ' 的导入',
                  HINT = 'import_commit.import_id';
    END IF;
    IF imp.status <> 'open' THEN
        RAISE EXCEPTION 'import % is already %', p_import, imp.status
            USING ERRCODE = 'SS001', DETAIL = '导入 ' || p_import || ' 已结束（' || imp.status || '）',
                  HINT = 'import_commit.import_id';
    END IF;
    -- One writer per directory at a time: the diff below must see a stable directory.
    PERFORM pg_advisory_xact_lock(hashtext('directory:' || imp.directory));
    staging := 'import_rows_' || imp.directory;
    versions := imp.directory || '_versions';
    cols := directory_columns(imp.directory);

    EXECUTE format('SELECT count(*) FROM %I WHERE import_id = $1', staging) INTO n_rows USING p_import;
    -- Rows that repeat a record id of an earlier line of the same file.
    EXECUTE format($q$
        WITH dup AS (
            SELECT line, record_id, min(line) OVER (PARTITION BY record_id) AS first_line
              FROM %I WHERE import_id = $1)
        SELECT count(*), coalesce(jsonb_agg(e) FILTER (WHERE rn <= 1000), '[]')
          FROM (SELECT jsonb_build_object('line', line, 'value', record_id, 'code', 'duplicate',
                                          'other_line', first_line) AS e,
                       row_number() OVER (ORDER BY line) AS rn
                  FROM dup WHERE line <> first_line) x$q$, staging)
        INTO n_err, errs USING p_import;
    -- Rows that would change a record that belongs to another jurisdiction.
    IF p_division_col IS NOT NULL AND p_prefix <> '' THEN
        DECLARE
            n2 bigint;
            e2 jsonb;
        BEGIN
            EXECUTE format($q$
                SELECT count(*), coalesce(jsonb_agg(e) FILTER (WHERE rn <= 1000), '[]')
                  FROM (SELECT jsonb_build_object('line', s.line, 'value', c.%1$I, 'code',
                                                  'foreign_jurisdiction') AS e,
                               row_number() OVER (ORDER BY s.line) AS rn
                          FROM %2$I s
                          JOIN LATERAL (SELECT v.%1$I FROM %3$I v WHERE v.record_id = s.record_id
                                         ORDER BY v.version DESC LIMIT 1) c ON true
                         WHERE s.import_id = $1 AND c.%1$I NOT LIKE $2 || '%%') x$q$,
                p_division_col, staging, versions)
                INTO n2, e2 USING p_import, p_prefix;
            n_err := n_err + n2;
            errs := errs || e2;
        END;
    END IF;

    -- What would change.
    EXECUTE format($q$
        SELECT count(*) FILTER (WHERE c.version IS NULL),
               count(*) FILTER (WHERE c.version IS NOT NULL AND c.content_sha256 <> s.content_sha256)
          FROM %I s
          LEFT JOIN LATERAL (SELECT v.version, v.content_sha256 FROM %I v
                              WHERE v.record_id = s.record_id ORDER BY v.version DESC LIMIT 1) c ON true
         WHERE s.import_id = $1$q$, staging, versions)
        INTO n_new, n_changed USING p_import;

    IF n_err = 0 AND p_chunk_errors = 0 AND NOT p_dry_run THEN
        EXECUTE format($q$
            INSERT INTO %1$I (record_id, version, %2$s, content_sha256, changed_by, reason, import_id)
            SELECT s.record_id, coalesce(c.version, 0) + 1, %3$s, s.content_sha256, $2, $3, $1
              FROM %4$I s
              LEFT JOIN LATERAL (SELECT v.version, v.content_sha256 FROM %1$I v
                                  WHERE v.record_id = s.record_id
                                  ORDER BY v.version DESC LIMIT 1) c ON true
             WHERE s.import_id = $1
               AND (c.version IS NULL OR c.content_sha256 <> s.content_sha256)$q$,
            versions,
            (SELECT string_agg(quote_ident(x), ', ') FROM unnest(cols) x),
            (SELECT string_agg('s.' || quote_ident(x), ', ') FROM unnest(cols) x),
            staging)
            USING p_import, p_actor, p_reason;
        applied := true;
    END IF;

    outcome := CASE WHEN applied THEN 'applied' WHEN p_dry_run THEN 'dry_run' ELSE 'failed' END;
    UPDATE imports SET status = outcome, finished_at = clock_timestamp(), rows_total = n_rows,
           new_records = n_new, changed_records = n_changed, error_count = n_err + p_chunk_errors
     WHERE id = p_import;
    EXECUTE format('DELETE FROM %I WHERE import_id = $1', staging) USING p_import;
    IF NOT p_dry_run THEN
        PERFORM audit_append(p_actor, 'import.' || imp.directory,
            CASE WHEN applied THEN 'ok' ELSE 'failed' END, p_reason, p_request_sha256,
            jsonb_build_object('import_id', p_import, 'file_name', imp.file_name,
                               'file_sha256', imp.file_sha256, 'rows', n_rows,
                               'new', CASE WHEN applied THEN n_new ELSE 0 END,
                               'changed', CASE WHEN applied THEN n_changed ELSE 0 END,
                               'errors', n_err + p_chunk_errors));
    END IF;
    RETURN jsonb_build_object('rows', n_rows, 'new', n_new, 'changed', n_changed,
                              'unchanged', n_rows - n_new - n_changed,
                              'error_count', n_err, 'errors', errs, 'applied', applied);
END $$;

-- Creates or changes one record: a new version when its content differs
-- from the current one, with an audit event and the idempotency record, in
-- one transaction.  p_fields maps column names to normalized text values.
CREATE FUNCTION record_put(p_directory text, p_actor text, p_key text, p_request_sha256 text,
                           p_record_id text, p_fields jsonb, p_sha256 text, p_reason text,
                           p_prefix text, p_division_col text)
RETURNS TABLE (version integer, changed boolean) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior idempotency_keys%ROWTYPE;
    versions text := p_directory || '_versions';
    cur_version integer;
    cur_sha bytea;
    cur_div text;
    new_version integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('idem:' || p_actor || ':' || p_key));
    SELECT * INTO prior FROM idempotency_keys WHERE principal_id = p_actor AND key = p_key;
    IF FOUND THEN
        IF prior.request_sha256 <> p_request_sha256 OR prior.operation <> 'record.put' THEN
            RAISE EXCEPTION 'idempotency key % was used for a different request', p_key
                USING ERRCODE = 'SS014', DETAIL = '幂等键 ' || p_key || ' 已用于另一个请求',
                      HINT = 'idempotency_key';
        END IF;
        RETURN QUERY SELECT (prior.result->>'version')::integer, (prior.result->>'changed')::boolean;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('directory:' || p_directory));
    EXECUTE format('SELECT version, content_sha256, %s FROM %I WHERE record_id = $1 '
                   'ORDER BY version DESC LIMIT 1',
                   CASE WHEN p_division_col IS NULL THEN 'NULL::text' ELSE quote_ident(p_division_col) END,
                   versions)
        INTO cur_version, cur_sha, cur_div USING p_record_id;
    IF cur_div IS NOT NULL AND cur_div NOT LIKE p_prefix || '%' THEN
        RAISE EXCEPTION 'record % belongs to jurisdiction %', p_record_id, cur_div
            USING ERRCODE = 'SS007', DETAIL = '记录 ' || p_record_id || ' 属于辖区 ' || cur_div,
                  HINT = 'record_put.record_id';
    END IF;
    IF cur_sha IS NOT NULL AND cur_sha = decode(p_sha256, 'hex') THEN
        new_version := cur_version;
    ELSE
        new_version := coalesce(cur_version, 0) + 1;
        EXECUTE format('INSERT INTO %1$I SELECT (jsonb_populate_record(NULL::%1$I, $1)).*', versions)
            USING p_fields || jsonb_build_object('record_id', p_record_id, 'version', new_version,
                                                 'content_sha256', '\x' || p_sha256,
                                                 'changed_at', clock_timestamp(),
                                                 'changed_by', p_actor, 'reason', p_reason);
        PERFORM audit_append(p_actor, 'record.put', 'ok', p_reason, p_request_sha256,
            jsonb_build_object('directory', p_directory, 'record_id', p_record_id,
                               'version', new_version));
    END IF;
    INSERT INTO idempotency_keys (principal_id, key, operation, request_sha256, result)
    VALUES (p_actor, p_key, 'record.put', p_request_sha256,
            jsonb_build_object('version', new_version, 'changed', new_version <> coalesce(cur_version, 0)));
    RETURN QUERY SELECT new_version, new_version <> coalesce(cur_version, 0);
END $$;

-- Working-day overrides set by administrators; the latest per day wins.
CREATE TABLE calendar_overrides (
    id         bigserial PRIMARY KEY,
    day        date NOT NULL,
    off_day    boolean NOT NULL,
    reason     text NOT NULL,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER calendar_overrides_append_only BEFORE UPDATE OR DELETE ON calendar_overrides
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION calendar_override(p_actor text, p_day date, p_off boolean, p_reason text,
                                  p_request_sha256 text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO calendar_overrides (day, off_day, reason, changed_by)
    VALUES (p_day, p_off, p_reason, p_actor);
    PERFORM audit_append(p_actor, 'calendar.override', 'ok', p_reason, p_request_sha256,
        jsonb_build_object('day', p_day, 'off_day', p_off));
END $$;

-- The application role reads the directories and stages imports; history
-- is written only by import_commit(), record_put() and calendar_override().
GRANT SELECT ON entity_versions, project_versions, inspector_versions, item_versions,
    conflict_versions, calendar_overrides TO shuangsui_app;
GRANT SELECT ON entity_current, project_current, inspector_current, item_current,
    conflict_current TO shuangsui_app;
GRANT SELECT, INSERT ON import_rows_entity, import_rows_project, import_rows_inspector,
    import_rows_item, import_rows_conflict TO shuangsui_app;
GRANT SELECT, INSERT ON imports TO shuangsui_app;
GRANT USAGE ON SEQUENCE imports_id_seq TO shuangsui_app;
