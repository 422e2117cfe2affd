-- 002_directories.sql — 一单两库: the item list and the two directories
-- (market entities and construction projects; inspectors with the expert
-- pool), declared conflicts of interest, bulk imports, calendar overrides.
--
-- Every directory has the same shape, mirroring common/dirschema.c:
--   <d>_versions     append-only history: every change is a new version with
--                    who, when, why; never updated or deleted (全过程留痕);
--   <d>_current      the latest version of each record;
-- A bulk import runs in one transaction of its own (server/import.c): its
-- rows go straight into <d>_versions and are committed all together, or
-- rolled back all together.
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
    changed_at               timestamptz NOT NULL DEFAULT now(), -- an import's rows: one time, its start
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
    changed_at               timestamptz NOT NULL DEFAULT now(), -- an import's rows: one time, its start
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
    changed_at               timestamptz NOT NULL DEFAULT now(), -- an import's rows: one time, its start
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
    changed_at               timestamptz NOT NULL DEFAULT now(), -- an import's rows: one time, its start
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
    changed_at               timestamptz NOT NULL DEFAULT now(), -- an import's rows: one time, its start
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
    error_count     bigint,
    dry_run         boolean NOT NULL DEFAULT false,
    reason          text NOT NULL DEFAULT ''
);

-- Opens an import: the record of it, before its own transaction starts, so
-- that even an import that fails or is abandoned leaves a trace.  Imports
-- left open for a day were abandoned by their client.
CREATE FUNCTION import_open(p_directory text, p_actor text, p_file_name text, p_file_sha256 text,
                            p_dry_run boolean, p_reason text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    new_id bigint;
BEGIN
    IF to_regclass('public.' || p_directory || '_versions') IS NULL THEN
        RAISE EXCEPTION 'unknown directory %', p_directory
            USING ERRCODE = 'SS001', DETAIL = '未知的名录 ' || p_directory, HINT = 'import_begin.directory';
    END IF;
    UPDATE imports SET status = 'abandoned', finished_at = clock_timestamp()
     WHERE status = 'open' AND started_at < now() - interval '1 day';
    INSERT INTO imports (directory, principal_id, file_name, file_sha256, dry_run, reason)
    VALUES (p_directory, p_actor, p_file_name, p_file_sha256, p_dry_run, p_reason)
    RETURNING id INTO new_id;
    RETURN new_id;
END $$;

-- Closes an import inside its own transaction, just before COMMIT: the
-- versions it inserted, its record and its audit event commit together.
CREATE FUNCTION import_finish(p_import bigint, p_actor text, p_request_sha256 text, p_rows bigint,
                              p_new bigint, p_changed bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    imp imports%ROWTYPE;
BEGIN
    UPDATE imports SET status = 'applied', finished_at = clock_timestamp(), rows_total = p_rows,
           new_records = p_new, changed_records = p_changed, error_count = 0
     WHERE id = p_import AND principal_id = p_actor AND status = 'open'
    RETURNING * INTO imp;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open import % of yours', p_import
            USING ERRCODE = 'SS013', DETAIL = '没有您发起的编号为 ' || p_import || ' 的导入',
                  HINT = 'import_commit.import_id';
    END IF;
    PERFORM audit_append(p_actor, 'import.' || imp.directory, 'ok', imp.reason, p_request_sha256,
        jsonb_build_object('import_id', p_import, 'file_name', imp.file_name,
                           'file_sha256', imp.file_sha256, 'rows', p_rows, 'new', p_new,
                           'changed', p_changed));
END $$;

-- Records an import that applied nothing: refused for errors (audited as
-- failed) or a dry run.  Called after its transaction was rolled back.
CREATE FUNCTION import_fail(p_import bigint, p_actor text, p_request_sha256 text, p_rows bigint,
                            p_new bigint, p_changed bigint, p_errors bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    imp imports%ROWTYPE;
BEGIN
    UPDATE imports SET status = CASE WHEN dry_run THEN 'dry_run' ELSE 'failed' END,
           finished_at = clock_timestamp(), rows_total = p_rows, new_records = p_new,
           changed_records = p_changed, error_count = p_errors
     WHERE id = p_import AND principal_id = p_actor AND status = 'open'
    RETURNING * INTO imp;
    IF FOUND AND NOT imp.dry_run THEN
        PERFORM audit_append(p_actor, 'import.' || imp.directory, 'failed', imp.reason,
            p_request_sha256,
            jsonb_build_object('import_id', p_import, 'file_name', imp.file_name,
                               'file_sha256', imp.file_sha256, 'rows', p_rows,
                               'errors', p_errors));
    END IF;
END $$;

-- Creates or changes one record: a new version when its content differs
-- from the current one, with an audit event and the idempotency record, in
-- one transaction.  p_fields maps column names to normalized text values.
CREATE FUNCTION record_put(p_directory text, p_actor text, p_key text, p_request_sha256 text,
                           p_record_id text, p_fields jsonb, p_sha256 text, p_reason text,
                           p_prefix text, p_division_col text, p_based_on integer)
RETURNS TABLE (version integer, changed boolean) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    versions text := p_directory || '_versions';
    cur_version integer;
    cur_sha bytea;
    cur_div text;
    new_version integer;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'record.put', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN QUERY SELECT (prior->>'version')::integer, (prior->>'changed')::boolean;
        RETURN;
    END IF;
    IF p_directory NOT IN ('entity', 'project', 'inspector', 'item', 'conflict') THEN
        RAISE EXCEPTION 'unknown directory %', p_directory USING ERRCODE = 'SS001',
            DETAIL = '未知的名录 ' || p_directory, HINT = 'record_put.directory';
    END IF;
    -- An import holds the directory's lock exclusively for its whole
    -- transaction: say so at once rather than keep a connection waiting.
    -- Single changes share it, and queue on their record's own lock; the
    -- version check below then reports a change made meanwhile.
    IF NOT pg_try_advisory_xact_lock_shared(hashtext('directory:' || p_directory)) THEN
        RAISE EXCEPTION 'an import into the % directory is in progress; try again when it ends',
            p_directory USING ERRCODE = 'SS001',
            DETAIL = '名录 ' || p_directory || ' 正在导入，请在导入结束后重试', HINT = 'record_put.directory';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('record:' || p_directory || ':' || p_record_id));
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
    -- The caller merged its change into version p_based_on (0: none existed);
    -- if the record moved on meanwhile, a blind write would undo that change.
    IF coalesce(cur_version, 0) <> p_based_on THEN
        RAISE EXCEPTION 'record % changed while you edited it (now version %); read it and try again',
            p_record_id, cur_version USING ERRCODE = 'SS001',
            DETAIL = '记录 ' || p_record_id || ' 已被他人修改（现为第 ' || cur_version || ' 版），请重新读取后再试',
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
    PERFORM idempotency_record(p_actor, p_key, 'record.put', p_request_sha256,
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

CREATE FUNCTION calendar_override(p_actor text, p_key text, p_day date, p_off boolean,
                                  p_reason text, p_request_sha256 text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    -- A retry with the same key changes nothing; the same key for another
    -- request is a conflict (as for every mutating request).
    IF idempotency_prior(p_actor, p_key, 'calendar.override', p_request_sha256) IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO calendar_overrides (day, off_day, reason, changed_by)
    VALUES (p_day, p_off, p_reason, p_actor);
    PERFORM audit_append(p_actor, 'calendar.override', 'ok', p_reason, p_request_sha256,
        jsonb_build_object('day', p_day, 'off_day', p_off));
    PERFORM idempotency_record(p_actor, p_key, 'calendar.override', p_request_sha256,
            jsonb_build_object('day', p_day, 'off_day', p_off));
END $$;

-- The application role reads the directories.  It changes them through
-- record_put(), and a bulk import COPYs into <d>_versions inside its own
-- transaction: the role may insert every column but changed_at, which the
-- database stamps itself (no back-dating), and never update or delete.
GRANT SELECT ON entity_versions, project_versions, inspector_versions, item_versions,
    conflict_versions, calendar_overrides TO shuangsui_app;
GRANT SELECT ON entity_current, project_current, inspector_current, item_current,
    conflict_current TO shuangsui_app;
GRANT SELECT ON imports TO shuangsui_app;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(text, text, text, text, text, jsonb),
    principal_set_status(text, text, text, text, text, text),
    import_open(text, text, text, text, boolean, text),
    import_finish(bigint, text, text, bigint, bigint, bigint),
    import_fail(bigint, text, text, bigint, bigint, bigint, bigint),
    record_put(text, text, text, text, text, jsonb, text, text, text, text, integer),
    calendar_override(text, text, date, boolean, text, text) TO shuangsui_app;
DO $$
DECLARE
    d text;
    cols text;
BEGIN
    FOREACH d IN ARRAY ARRAY['entity', 'project', 'inspector', 'item', 'conflict'] LOOP
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
          FROM pg_attribute
         WHERE attrelid = (d || '_versions')::regclass AND attnum > 0 AND NOT attisdropped
           AND attname <> 'changed_at';
        EXECUTE format('GRANT INSERT (%s) ON %I TO shuangsui_app', cols, d || '_versions');
    END LOOP;
END $$;
