-- 001_skeleton.sql — principals, the audit log, idempotency keys.
--
-- Applied by shuangsuid at start as the owner role, under an advisory lock,
-- inside one transaction.  History is never overwritten: principals are
-- versioned rows, and audit events are append-only (全过程留痕).  The
-- application role shuangsui_app may read and insert, never update or delete.
--
-- Errors raised for the client use SQLSTATEs of class SS: SS001 bad request,
-- SS013 not found, SS014 idempotency conflict; MESSAGE is English, DETAIL
-- Chinese, HINT the offending field.

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is forbidden: history is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TABLE principal_versions (
    principal_id text NOT NULL CHECK (principal_id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    version      integer NOT NULL CHECK (version >= 1),
    office       text NOT NULL CHECK (length(office) BETWEEN 1 AND 200),
    role         text NOT NULL CHECK (role IN ('operator', 'legal', 'supervisor', 'auditor', 'admin')),
    jurisdiction text NOT NULL CHECK (jurisdiction ~ '^[0-9]{6}$'),
    fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    status       text NOT NULL CHECK (status IN ('active', 'disabled')),
    changed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by   text NOT NULL,
    reason       text NOT NULL,
    PRIMARY KEY (principal_id, version)
);
CREATE INDEX principal_versions_fingerprint ON principal_versions (fingerprint);
CREATE TRIGGER principal_versions_append_only BEFORE UPDATE OR DELETE ON principal_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER principal_versions_no_truncate BEFORE TRUNCATE ON principal_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The current version of each principal.
CREATE VIEW principals AS
    SELECT DISTINCT ON (principal_id) *
    FROM principal_versions
    ORDER BY principal_id, version DESC;

CREATE TABLE audit_events (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor          text NOT NULL,
    operation      text NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    reason         text NOT NULL DEFAULT '',
    request_sha256 text NOT NULL DEFAULT '' CHECK (request_sha256 ~ '^([0-9a-f]{64})?$'),
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

CREATE TABLE idempotency_keys (
    principal_id   text NOT NULL,
    key            text NOT NULL,
    operation      text NOT NULL,
    request_sha256 text NOT NULL,
    result         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (principal_id, key)
);
CREATE TRIGGER idempotency_keys_append_only BEFORE UPDATE OR DELETE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION audit_append(p_actor text, p_operation text, p_outcome text, p_reason text,
                             p_request_sha256 text, p_detail jsonb) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    INSERT INTO audit_events (actor, operation, outcome, reason, request_sha256, detail)
    VALUES (p_actor, p_operation, p_outcome, coalesce(p_reason, ''), coalesce(p_request_sha256, ''),
            coalesce(p_detail, '{}'))
    RETURNING id;
$$;

-- Registers a principal, or a new version of it when anything differs.
-- Re-registering the same data changes nothing (safe to re-run).  Returns
-- the current version.
CREATE FUNCTION principal_register(p_actor text, p_principal_id text, p_office text, p_role text,
                                   p_jurisdiction text, p_fingerprint text, p_reason text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    cur principals%ROWTYPE;
    other text;
BEGIN
    -- Both locks: two registrations of one certificate under two ids must not both pass.
    PERFORM pg_advisory_xact_lock(hashtext('fingerprint:' || p_fingerprint));
    PERFORM pg_advisory_xact_lock(hashtext('principal:' || p_principal_id));
    SELECT principal_id INTO other FROM principals
     WHERE fingerprint = p_fingerprint AND principal_id <> p_principal_id LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'certificate fingerprint already belongs to principal %', other
            USING ERRCODE = 'SS001', DETAIL = '该证书指纹已登记给用户 ' || other, HINT = 'fingerprint';
    END IF;
    SELECT * INTO cur FROM principals WHERE principal_id = p_principal_id;
    IF FOUND AND cur.office = p_office AND cur.role = p_role AND cur.jurisdiction = p_jurisdiction
       AND cur.fingerprint = p_fingerprint AND cur.status = 'active' THEN
        RETURN cur.version;
    END IF;
    INSERT INTO principal_versions (principal_id, version, office, role, jurisdiction, fingerprint,
                                    status, changed_by, reason)
    VALUES (p_principal_id, coalesce(cur.version, 0) + 1, p_office, p_role, p_jurisdiction,
            p_fingerprint, 'active', p_actor, p_reason);
    PERFORM audit_append(p_actor, 'principal.register', 'ok', p_reason, NULL,
        jsonb_build_object('principal_id', p_principal_id, 'version', coalesce(cur.version, 0) + 1,
                           'office', p_office, 'role', p_role, 'jurisdiction', p_jurisdiction,
                           'fingerprint', p_fingerprint));
    RETURN coalesce(cur.version, 0) + 1;
END $$;

-- Idempotency of mutating requests (docs/protocol.md §10).  idempotency_prior
-- takes the key's lock for the caller's transaction and returns the result
-- stored for (actor, key), or NULL when the key is new; a key already used
-- for another request raises SS014.  idempotency_record stores the result of
-- the request that has just been applied, in the same transaction.
CREATE FUNCTION idempotency_prior(p_actor text, p_key text, p_operation text,
                                  p_request_sha256 text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    prior idempotency_keys%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('idem:' || p_actor || ':' || p_key));
    SELECT * INTO prior FROM idempotency_keys WHERE principal_id = p_actor AND key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF prior.request_sha256 <> p_request_sha256 OR prior.operation <> p_operation THEN
        RAISE EXCEPTION 'idempotency key % was used for a different request', p_key
            USING ERRCODE = 'SS014', DETAIL = '幂等键 ' || p_key || ' 已用于另一个请求',
                  HINT = 'idempotency_key';
    END IF;
    RETURN prior.result;
END $$;

CREATE FUNCTION idempotency_record(p_actor text, p_key text, p_operation text,
                                   p_request_sha256 text, p_result jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO idempotency_keys (principal_id, key, operation, request_sha256, result)
    VALUES (p_actor, p_key, p_operation, p_request_sha256, p_result);
$$;

-- Enables or disables a principal: a new version, an audit event and the
-- idempotency record, all in the caller's one transaction.
CREATE FUNCTION principal_set_status(p_actor text, p_key text, p_request_sha256 text,
                                     p_principal_id text, p_status text, p_reason text)
RETURNS SETOF principal_versions LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    cur principals%ROWTYPE;
BEGIN
    -- The actor must still be an active administrator now, whatever its
    -- session was told at Hello.
    IF NOT EXISTS (SELECT 1 FROM principals WHERE principal_id = p_actor
                    AND status = 'active' AND role = 'admin') THEN
        RAISE EXCEPTION 'principal % is not an active administrator', p_actor
            USING ERRCODE = 'SS007', DETAIL = '用户 ' || p_actor || ' 不是有效的管理员',
                  HINT = 'principal_set_status';
    END IF;
    prior := idempotency_prior(p_actor, p_key, 'principal.set_status', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN QUERY SELECT * FROM principal_versions
                      WHERE principal_id = prior->>'principal_id'
                        AND version = (prior->>'version')::integer;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('principal:' || p_principal_id));
    SELECT * INTO cur FROM principals WHERE principal_id = p_principal_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no principal with id %', p_principal_id
            USING ERRCODE = 'SS013', DETAIL = '没有编号为 ' || p_principal_id || ' 的用户',
                  HINT = 'principal_set_status.principal_id';
    END IF;
    IF cur.status = p_status THEN
        RAISE EXCEPTION 'principal % is already %', p_principal_id, p_status
            USING ERRCODE = 'SS001', DETAIL = '用户 ' || p_principal_id || ' 已经是该状态（' || p_status || '）',
                  HINT = 'principal_set_status.status';
    END IF;
    INSERT INTO principal_versions (principal_id, version, office, role, jurisdiction, fingerprint,
                                    status, changed_by, reason)
    VALUES (cur.principal_id, cur.version + 1, cur.office, cur.role, cur.jurisdiction,
            cur.fingerprint, p_status, p_actor, p_reason);
    PERFORM audit_append(p_actor, 'principal.set_status', 'ok', p_reason, p_request_sha256,
        jsonb_build_object('principal_id', cur.principal_id, 'version', cur.version + 1,
                           'from', cur.status, 'to', p_status));
    PERFORM idempotency_record(p_actor, p_key, 'principal.set_status', p_request_sha256,
            jsonb_build_object('principal_id', cur.principal_id, 'version', cur.version + 1));
    RETURN QUERY SELECT * FROM principal_versions
                  WHERE principal_id = cur.principal_id AND version = cur.version + 1;
END $$;

-- Least privilege for the application role: it reads, and it changes
-- history only through the functions above (SECURITY DEFINER, owned by the
-- owner role), which stamp who and when themselves.  It cannot insert a
-- back-dated or forged row, nor update or delete any (the triggers refuse
-- even the owner).  Registering principals is for the owner role only.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(text, text, text, text, text, jsonb),
    principal_set_status(text, text, text, text, text, text) TO shuangsui_app;
GRANT SELECT ON principal_versions, audit_events, idempotency_keys, principals TO shuangsui_app;
