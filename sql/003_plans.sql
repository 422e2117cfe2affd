-- 003_plans.sql — departments, plans (annual, joint, ad hoc), tasks,
-- targeted inspections and the lists a draw locks (issue 4).
--
-- Documents (a plan's or a task's body) are validated by the server
-- (server/plandoc.c) against docs/plans.md and stored as canonical jsonb;
-- the references inside them (departments, items, plans) are checked here,
-- in the transaction that stores them.  Every table is append-only: a
-- change is a new version or a new event, never an UPDATE (全过程留痕).
-- Errors: SQLSTATE SS001 (bad request), SS007 (permission denied), SS013
-- (not found); MESSAGE in English, DETAIL in Chinese, HINT the field.

-- 部门: departments are data.  A principal acts for the department whose
-- name equals its certificate's office (O=).
CREATE TABLE department_versions (
    dept_code    text NOT NULL CHECK (dept_code ~ '^[A-Za-z0-9._-]{2,64}$'),
    version      integer NOT NULL CHECK (version >= 1),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    jurisdiction text NOT NULL CHECK (jurisdiction ~ '^[0-9]{6}$'),
    parent_code  text,
    kind         text NOT NULL CHECK (kind IN ('housing', 'market_supervision', 'other')),
    status       text NOT NULL CHECK (status IN ('active', 'retired')),
    changed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by   text NOT NULL,
    reason       text NOT NULL,
    PRIMARY KEY (dept_code, version)
);
CREATE TRIGGER department_versions_append_only BEFORE UPDATE OR DELETE ON department_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER department_versions_no_truncate BEFORE TRUNCATE ON department_versions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE VIEW departments AS
    SELECT DISTINCT ON (dept_code) * FROM department_versions ORDER BY dept_code, version DESC;

-- Raises SS001 with an English message, a Chinese detail and the field.
CREATE FUNCTION ss_bad(p_en text, p_zh text, p_field text, p_code text DEFAULT 'SS001')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', p_en USING ERRCODE = p_code, DETAIL = p_zh, HINT = p_field;
END $$;

-- The active principal p_actor: its role, office, jurisdiction, and the code
-- of the department it acts for (NULL when no department has its office's name).
CREATE FUNCTION actor_of(p_actor text, OUT role text, OUT office text, OUT jurisdiction text,
                         OUT dept_code text)
LANGUAGE sql STABLE AS $$
    SELECT p.role, p.office, p.jurisdiction,
           (SELECT d.dept_code FROM departments d WHERE d.name = p.office AND d.status = 'active'
             ORDER BY d.dept_code LIMIT 1)
      FROM principals p WHERE p.principal_id = p_actor AND p.status = 'active';
$$;

-- actor_of for a principal that must be active: refused (SS007) otherwise.
CREATE FUNCTION active_actor(p_actor text, OUT role text, OUT office text, OUT jurisdiction text,
                             OUT dept_code text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.role, a.office, a.jurisdiction, a.dept_code INTO role, office, jurisdiction, dept_code
      FROM actor_of(p_actor) a;
    IF role IS NULL THEN
        PERFORM ss_bad('principal ' || p_actor || ' is not active', '用户 ' || p_actor || ' 未启用',
                       'principal', 'SS007');
    END IF;
END $$;

-- Refuses (SS001, naming p_field[i]) the first code of the JSON array p_items
-- that is not an item of the list (p_active: an active one).
CREATE FUNCTION items_check(p_items jsonb, p_field text, p_active boolean) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT x #>> '{}' AS code, i - 1 AS i
               FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(x, i) LOOP
        IF NOT EXISTS (SELECT 1 FROM item_current WHERE record_id = r.code
                                                    AND (status = 'active' OR NOT p_active)) THEN
            PERFORM ss_bad('item ' || r.code || CASE WHEN p_active
                               THEN ' is not an active item of the list' ELSE ' is not in the list' END,
                           '事项 ' || r.code || CASE WHEN p_active
                               THEN ' 不是清单中的在用事项' ELSE ' 不在事项清单中' END,
                           p_field || '[' || r.i || ']');
        END IF;
    END LOOP;
END $$;

-- Is department p_inner p_outer itself or one of its subordinates (G15)?
CREATE FUNCTION dept_within(p_outer text, p_inner text) RETURNS boolean LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(code, depth) AS (
        SELECT p_inner, 0
        UNION ALL
        SELECT d.parent_code, up.depth + 1 FROM up JOIN departments d ON d.dept_code = up.code
         WHERE d.parent_code IS NOT NULL AND up.depth < 16
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE code = p_outer);
$$;

CREATE FUNCTION department_put(p_actor text, p_key text, p_request_sha256 text, p_code text,
                               p_name text, p_jurisdiction text, p_parent text, p_kind text,
                               p_status text, p_reason text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    cur departments%ROWTYPE;
    v integer;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'department.put', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'version')::integer;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('department:' || p_code));
    IF p_parent IS NOT NULL THEN
        IF p_parent = p_code OR NOT EXISTS (SELECT 1 FROM departments WHERE dept_code = p_parent) THEN
            PERFORM ss_bad('no department ' || p_parent || ' to be the parent',
                           '上级部门 ' || p_parent || ' 不存在', 'department_put.parent_code');
        END IF;
        IF dept_within(p_code, p_parent) THEN
            PERFORM ss_bad('department ' || p_parent || ' is below ' || p_code || ': a cycle',
                           '部门 ' || p_parent || ' 是 ' || p_code || ' 的下级，不能互为上级',
                           'department_put.parent_code');
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM departments WHERE name = p_name AND dept_code <> p_code
                                           AND status = 'active') THEN
        PERFORM ss_bad('another active department is named ' || p_name,
                       '已有另一个在用部门名为 ' || p_name, 'department_put.name');
    END IF;
    SELECT * INTO cur FROM departments WHERE dept_code = p_code;
    IF FOUND AND cur.name = p_name AND cur.jurisdiction = p_jurisdiction
       AND cur.parent_code IS NOT DISTINCT FROM p_parent AND cur.kind = p_kind
       AND cur.status = p_status THEN
        v := cur.version;
    ELSE
        v := coalesce(cur.version, 0) + 1;
        INSERT INTO department_versions (dept_code, version, name, jurisdiction, parent_code, kind,
                                         status, changed_by, reason)
        VALUES (p_code, v, p_name, p_jurisdiction, p_parent, p_kind, p_status, p_actor, p_reason);
        PERFORM audit_append(p_actor, 'department.put', 'ok', p_reason, p_request_sha256,
            jsonb_build_object('dept_code', p_code, 'version', v, 'name', p_name,
                               'jurisdiction', p_jurisdiction, 'parent_code', p_parent,
                               'kind', p_kind, 'status', p_status));
    END IF;
    PERFORM idempotency_record(p_actor, p_key, 'department.put', p_request_sha256,
                               jsonb_build_object('version', v));
    RETURN v;
END $$;

-- 抽查工作计划.  plans: identity; plan_versions: every content change;
-- plan_events: every state change of a version.  The state of a version is
-- its latest event.  States: draft, submitted, approved, published,
-- superseded (a later version replaced it: an edited draft, or a published
-- version after its amendment was published), returned (sent back by the
-- legal office; it may be edited, which makes a new draft version).
CREATE TABLE plans (
    plan_id    text PRIMARY KEY CHECK (plan_id ~ '^[A-Za-z0-9._-]{2,64}$'),
    kind       text NOT NULL CHECK (kind IN ('annual', 'joint', 'ad_hoc')),
    dept_code  text NOT NULL,
    year       integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by text NOT NULL
);
CREATE TRIGGER plans_append_only BEFORE UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE plan_versions (
    plan_id         text NOT NULL REFERENCES plans,
    version         integer NOT NULL CHECK (version >= 1),
    document        jsonb NOT NULL,
    document_text   text NOT NULL,  -- the canonical text the digest is of
    document_sha256 text NOT NULL
                    CHECK (document_sha256 = encode(sha256(convert_to(document_text, 'UTF8')), 'hex')),
    amends          integer,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by      text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (plan_id, version)
);
CREATE TRIGGER plan_versions_append_only BEFORE UPDATE OR DELETE ON plan_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE plan_events (
    event_id  bigserial PRIMARY KEY,
    plan_id   text NOT NULL,
    version   integer NOT NULL,
    state     text NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'published',
                                             'superseded', 'returned')),
    actor     text NOT NULL,
    role      text NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason    text NOT NULL,
    FOREIGN KEY (plan_id, version) REFERENCES plan_versions
);
CREATE INDEX plan_events_version ON plan_events (plan_id, version, event_id);
CREATE TRIGGER plan_events_append_only BEFORE UPDATE OR DELETE ON plan_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- A participant's confirmation of its part of one version of a joint plan.
CREATE TABLE plan_confirmations (
    plan_id    text NOT NULL,
    version    integer NOT NULL,
    dept_code  text NOT NULL,
    part       text NOT NULL,
    items      jsonb NOT NULL,
    actor      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason     text NOT NULL,
    PRIMARY KEY (plan_id, version, dept_code),
    FOREIGN KEY (plan_id, version) REFERENCES plan_versions
);
CREATE TRIGGER plan_confirmations_append_only BEFORE UPDATE OR DELETE ON plan_confirmations
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE VIEW plan_version_states AS
    SELECT v.plan_id, v.version, p.kind, p.dept_code, p.year, v.amends,
           (SELECT e.state FROM plan_events e WHERE e.plan_id = v.plan_id AND e.version = v.version
             ORDER BY e.event_id DESC LIMIT 1) AS state
      FROM plan_versions v JOIN plans p USING (plan_id);

-- The version in force: the latest published one.
CREATE VIEW plan_in_force AS
    SELECT DISTINCT ON (plan_id) plan_id, version, kind, dept_code, year
      FROM plan_version_states WHERE state = 'published' ORDER BY plan_id, version DESC;

CREATE FUNCTION plan_state(p_plan text, p_version integer) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT state FROM plan_events WHERE plan_id = p_plan AND version = p_version
     ORDER BY event_id DESC LIMIT 1;
$$;

-- Checks what only the database knows about a plan document.
CREATE FUNCTION plan_check(p_doc jsonb) RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    kind text := p_doc->>'kind';
    n integer;
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM departments WHERE dept_code = p_doc->>'department'
                                               AND status = 'active') THEN
        PERFORM ss_bad('no active department ' || (p_doc->>'department'),
                       '没有在用部门 ' || (p_doc->>'department'), 'plan.department');
    END IF;
    FOR r IN SELECT x.value #>> '{}' AS code, x.ordinality - 1 AS i
               FROM jsonb_array_elements(coalesce(p_doc->'participants', '[]')) WITH ORDINALITY x LOOP
        IF NOT EXISTS (SELECT 1 FROM departments WHERE dept_code = r.code AND status = 'active') THEN
            PERFORM ss_bad('no active department ' || r.code, '没有在用部门 ' || r.code,
                           'plan.participants[' || r.i || ']');
        END IF;
    END LOOP;
    IF kind = 'joint' THEN
        SELECT count(DISTINCT c) INTO n FROM (
            SELECT p_doc->>'department' AS c
            UNION ALL SELECT x #>> '{}' FROM jsonb_array_elements(p_doc->'participants') x) s;
        IF n < 3 THEN
            PERFORM ss_bad('a cross-department joint plan needs at least 3 departments (the initiator and at least 2 participants); this one has '
                           || n, '跨部门联合抽查计划至少需要 3 个部门（发起部门和至少 2 个参与部门），本计划只有 ' || n || ' 个',
                           'plan.participants');
        END IF;
    END IF;
    FOR r IN SELECT rw.row->'items' AS items, row_i - 1 AS i
               FROM jsonb_array_elements(p_doc->'rows') WITH ORDINALITY AS rw(row, row_i) LOOP
        PERFORM items_check(r.items, 'plan.rows[' || r.i || '].items', true);
    END LOOP;
END $$;

-- May p_actor act for the plan's department (or, for a joint plan, for
-- participant p_dept)?  The legal office acts for all (it coordinates).
CREATE FUNCTION plan_may_act(p_role text, p_actor_dept text, p_dept text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(p_role = 'legal' OR (p_role = 'operator' AND p_actor_dept = p_dept), false);
$$;

-- Creates a plan, changes a draft (a new version), or amends the version in
-- force (p_amend: a change request, a new draft version that replaces it
-- once published).  Returns the new version.
CREATE FUNCTION plan_put(p_actor text, p_key text, p_request_sha256 text, p_plan text,
                         p_text text, p_doc_sha256 text, p_amend boolean, p_reason text)
RETURNS TABLE (version integer, state text) LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    a record;
    pl plans%ROWTYPE;
    latest integer;
    latest_state text;
    in_force integer;
    v integer;
    p_doc jsonb := p_text::jsonb;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'plan.put', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN QUERY SELECT (prior->>'version')::integer, prior->>'state';
        RETURN;
    END IF;
    SELECT * INTO a FROM active_actor(p_actor);
    PERFORM pg_advisory_xact_lock(hashtext('plan:' || p_plan));
    PERFORM plan_check(p_doc);
    IF NOT plan_may_act(a.role, a.dept_code, p_doc->>'department') THEN
        PERFORM ss_bad('you act for ' || coalesce(a.dept_code, a.office) || ', not for department '
                       || (p_doc->>'department'),
                       '您代表 ' || coalesce(a.dept_code, a.office) || '，不能代表部门 ' || (p_doc->>'department'),
                       'plan.department', 'SS007');
    END IF;
    SELECT * INTO pl FROM plans WHERE plan_id = p_plan;
    IF NOT FOUND THEN
        IF p_amend THEN
            PERFORM ss_bad('no plan ' || p_plan || ' to amend', '没有可变更的计划 ' || p_plan,
                           'plan_put.plan_id', 'SS013');
        END IF;
        INSERT INTO plans (plan_id, kind, dept_code, year, created_by)
        VALUES (p_plan, p_doc->>'kind', p_doc->>'department', (p_doc->>'year')::integer, p_actor);
        v := 1;
        INSERT INTO plan_versions (plan_id, version, document, document_text, document_sha256,
                                   created_by, reason)
        VALUES (p_plan, v, p_doc, p_text, p_doc_sha256, p_actor, p_reason);
    ELSE
        IF pl.kind <> p_doc->>'kind' OR pl.dept_code <> p_doc->>'department'
           OR pl.year <> (p_doc->>'year')::integer THEN
            PERFORM ss_bad('a plan keeps its kind, department and year (' || pl.kind || ', ' ||
                           pl.dept_code || ', ' || pl.year || '); make a new plan instead',
                           '计划的类型、部门和年度不能变更（' || pl.kind || '，' || pl.dept_code || '，' ||
                           pl.year || '），请另建计划', 'plan.kind');
        END IF;
        SELECT max(pv.version) INTO latest FROM plan_versions pv WHERE pv.plan_id = p_plan;
        latest_state := plan_state(p_plan, latest);
        SELECT f.version INTO in_force FROM plan_in_force f WHERE f.plan_id = p_plan;
        IF p_amend THEN
            IF latest_state <> 'published' THEN
                PERFORM ss_bad('plan ' || p_plan || ' version ' || latest || ' is ' || latest_state ||
                               ': only the published version in force can be amended; change the pending version instead',
                               '计划 ' || p_plan || ' 第 ' || latest || ' 版状态为 ' || latest_state ||
                               '：只有现行的已公布版本可以申请变更，请修改待处理的版本',
                               'plan_put.amend');
            END IF;
        ELSIF latest_state NOT IN ('draft', 'returned') THEN
            PERFORM ss_bad('plan ' || p_plan || ' version ' || latest || ' is ' || latest_state ||
                           CASE WHEN latest_state = 'published'
                                THEN ': a published plan changes only through an amendment (--amend) with a reason'
                                ELSE ': it cannot be edited now' END,
                           '计划 ' || p_plan || ' 第 ' || latest || ' 版状态为 ' || latest_state ||
                           CASE WHEN latest_state = 'published'
                                THEN '：已公布的计划只能通过说明理由的变更申请（--amend）修改'
                                ELSE '：现在不能修改' END,
                           'plan_put.plan_id');
        END IF;
        IF (SELECT pv.document_sha256 FROM plan_versions pv
             WHERE pv.plan_id = p_plan AND pv.version = latest) = p_doc_sha256 AND NOT p_amend THEN
            v := latest;
        ELSE
            v := latest + 1;
            INSERT INTO plan_versions (plan_id, version, document, document_text, document_sha256,
                                       amends, created_by, reason)
            VALUES (p_plan, v, p_doc, p_text, p_doc_sha256,
                    CASE WHEN p_amend THEN in_force
                         ELSE (SELECT pv.amends FROM plan_versions pv
                                WHERE pv.plan_id = p_plan AND pv.version = latest) END,
                    p_actor, p_reason);
            IF NOT p_amend THEN
                INSERT INTO plan_events (plan_id, version, state, actor, role, reason)
                VALUES (p_plan, latest, 'superseded', p_actor, a.role,
                        'replaced by version ' || v || ': ' || p_reason);
            END IF;
        END IF;
    END IF;
    IF v <> coalesce(latest, 0) THEN
        INSERT INTO plan_events (plan_id, version, state, actor, role, reason)
        VALUES (p_plan, v, 'draft', p_actor, a.role, p_reason);
        PERFORM audit_append(p_actor, CASE WHEN p_amend THEN 'plan.amend' ELSE 'plan.put' END, 'ok',
            p_reason, p_request_sha256,
            jsonb_build_object('plan_id', p_plan, 'version', v, 'state', 'draft',
                               'document_sha256', p_doc_sha256));
    END IF;
    PERFORM idempotency_record(p_actor, p_key, 'plan.put', p_request_sha256,
                               jsonb_build_object('version', v, 'state', plan_state(p_plan, v)));
    RETURN QUERY SELECT v, plan_state(p_plan, v);
END $$;

-- A participant confirms its part of a joint plan version (or the legal
-- office records the confirmation on its behalf, with the reason).
CREATE FUNCTION plan_confirm(p_actor text, p_key text, p_request_sha256 text, p_plan text,
                             p_version integer, p_dept text, p_part text, p_items jsonb,
                             p_reason text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    a record;
    doc jsonb;
    st text;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'plan.confirm', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN prior->>'state';
    END IF;
    SELECT * INTO a FROM active_actor(p_actor);
    PERFORM pg_advisory_xact_lock(hashtext('plan:' || p_plan));
    SELECT pv.document INTO doc FROM plan_versions pv WHERE pv.plan_id = p_plan AND pv.version = p_version;
    IF NOT FOUND THEN
        PERFORM ss_bad('no plan ' || p_plan || ' version ' || p_version,
                       '没有计划 ' || p_plan || ' 第 ' || p_version || ' 版', 'plan_act.plan_id', 'SS013');
    END IF;
    IF doc->>'kind' <> 'joint' OR NOT (doc->'participants') ? p_dept THEN
        PERFORM ss_bad('department ' || p_dept || ' is not a participant of plan ' || p_plan,
                       '部门 ' || p_dept || ' 不是计划 ' || p_plan || ' 的参与部门', 'plan_act.department');
    END IF;
    IF NOT plan_may_act(a.role, a.dept_code, p_dept) THEN
        PERFORM ss_bad('you act for ' || coalesce(a.dept_code, a.office) || ', not for department ' || p_dept,
                       '您代表 ' || coalesce(a.dept_code, a.office) || '，不能代表部门 ' || p_dept,
                       'plan_act.department', 'SS007');
    END IF;
    st := plan_state(p_plan, p_version);
    IF st NOT IN ('draft', 'returned') THEN
        PERFORM ss_bad('plan ' || p_plan || ' version ' || p_version || ' is ' || st || '; participants confirm a draft',
                       '计划 ' || p_plan || ' 第 ' || p_version || ' 版状态为 ' || st || '，参与部门只能确认草稿',
                       'plan_act.version');
    END IF;
    IF EXISTS (SELECT 1 FROM plan_confirmations c WHERE c.plan_id = p_plan AND c.version = p_version
                                                    AND c.dept_code = p_dept) THEN
        PERFORM ss_bad('department ' || p_dept || ' already confirmed plan ' || p_plan || ' version ' || p_version,
                       '部门 ' || p_dept || ' 已确认计划 ' || p_plan || ' 第 ' || p_version || ' 版',
                       'plan_act.department');
    END IF;
    PERFORM items_check(p_items, 'plan_act.items', true);
    INSERT INTO plan_confirmations (plan_id, version, dept_code, part, items, actor, reason)
    VALUES (p_plan, p_version, p_dept, p_part, p_items, p_actor, p_reason);
    PERFORM audit_append(p_actor, 'plan.confirm', 'ok', p_reason, p_request_sha256,
        jsonb_build_object('plan_id', p_plan, 'version', p_version, 'department', p_dept,
                           'part', p_part, 'items', p_items));
    PERFORM idempotency_record(p_actor, p_key, 'plan.confirm', p_request_sha256,
                               jsonb_build_object('state', st));
    RETURN st;
END $$;

-- Moves a plan version along its lifecycle:
--   submit   draft|returned -> submitted   the plan's department (joint: every
--                                          participant has confirmed; the form signed)
--   return   submitted -> returned          the legal office, with the reason
--   approve  submitted -> approved          the legal office (备案/审核)
--   publish  approved -> published          the legal office or the department;
--                                          the version it amends becomes superseded
CREATE FUNCTION plan_act(p_actor text, p_key text, p_request_sha256 text, p_plan text,
                         p_version integer, p_action text, p_reason text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    a record;
    pv plan_versions%ROWTYPE;
    pl plans%ROWTYPE;
    st text;
    latest integer;
    to_state text;
    missing text;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'plan.act', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN prior->>'state';
    END IF;
    SELECT * INTO a FROM active_actor(p_actor);
    PERFORM pg_advisory_xact_lock(hashtext('plan:' || p_plan));
    SELECT * INTO pl FROM plans WHERE plan_id = p_plan;
    SELECT * INTO pv FROM plan_versions v WHERE v.plan_id = p_plan AND v.version = p_version;
    IF NOT FOUND THEN
        PERFORM ss_bad('no plan ' || p_plan || ' version ' || p_version,
                       '没有计划 ' || p_plan || ' 第 ' || p_version || ' 版', 'plan_act.plan_id', 'SS013');
    END IF;
    SELECT max(v.version) INTO latest FROM plan_versions v WHERE v.plan_id = p_plan;
    st := plan_state(p_plan, p_version);
    to_state := CASE p_action WHEN 'submit' THEN 'submitted' WHEN 'return' THEN 'returned'
                              WHEN 'approve' THEN 'approved' WHEN 'publish' THEN 'published' END;
    IF to_state IS NULL THEN
        PERFORM ss_bad('unknown action ' || p_action || ' (submit, return, approve, publish)',
                       '未知操作 ' || p_action || '（submit、return、approve、publish）', 'plan_act.action');
    END IF;
    IF p_version <> latest THEN
        PERFORM ss_bad('plan ' || p_plan || ' version ' || p_version || ' is not the latest (' || latest || ')',
                       '计划 ' || p_plan || ' 第 ' || p_version || ' 版不是最新版本（第 ' || latest || ' 版）',
                       'plan_act.version');
    END IF;
    IF (p_action = 'submit' AND st NOT IN ('draft', 'returned'))
       OR (p_action IN ('return', 'approve') AND st <> 'submitted')
       OR (p_action = 'publish' AND st <> 'approved') THEN
        PERFORM ss_bad('plan ' || p_plan || ' version ' || p_version || ' is ' || st || ': it cannot be ' || to_state,
                       '计划 ' || p_plan || ' 第 ' || p_version || ' 版状态为 ' || st || '，不能执行 ' || p_action,
                       'plan_act.action');
    END IF;
    IF (p_action IN ('return', 'approve') AND a.role <> 'legal')
       OR (p_action IN ('submit', 'publish') AND NOT plan_may_act(a.role, a.dept_code, pl.dept_code)) THEN
        PERFORM ss_bad(CASE WHEN p_action IN ('return', 'approve')
                            THEN 'only the legal office may ' || p_action || ' a plan'
                            ELSE 'only department ' || pl.dept_code || ' or the legal office may ' || p_action || ' this plan' END,
                       CASE WHEN p_action IN ('return', 'approve')
                            THEN '只有法规科可以' || CASE p_action WHEN 'approve' THEN '备案审核' ELSE '退回' END || '计划'
                            ELSE '只有部门 ' || pl.dept_code || ' 或法规科可以执行此操作' END,
                       'plan_act.action', 'SS007');
    END IF;
    IF p_action = 'submit' THEN
        IF coalesce(pv.document #>> '{signoff,section_head}', '') = ''
           OR coalesce(pv.document #>> '{signoff,leader}', '') = '' THEN
            PERFORM ss_bad('the plan form must be signed by the section head and the leader in charge before it is submitted',
                           '计划表须经科室负责人和分管领导签字后方可报送', 'plan.signoff');
        END IF;
        SELECT string_agg(x #>> '{}', ', ') INTO missing
          FROM jsonb_array_elements(coalesce(pv.document->'participants', '[]')) x
         WHERE pl.kind = 'joint' AND NOT EXISTS (
               SELECT 1 FROM plan_confirmations c WHERE c.plan_id = p_plan AND c.version = p_version
                                                    AND c.dept_code = x #>> '{}');
        IF missing IS NOT NULL THEN
            PERFORM ss_bad('participants have not confirmed version ' || p_version || ': ' || missing,
                           '以下参与部门尚未确认第 ' || p_version || ' 版：' || missing, 'plan_act.action');
        END IF;
    END IF;
    INSERT INTO plan_events (plan_id, version, state, actor, role, reason)
    VALUES (p_plan, p_version, to_state, p_actor, a.role, p_reason);
    IF p_action = 'publish' AND pv.amends IS NOT NULL THEN
        INSERT INTO plan_events (plan_id, version, state, actor, role, reason)
        VALUES (p_plan, pv.amends, 'superseded', p_actor, a.role,
                'amended by version ' || p_version || ': ' || p_reason);
    END IF;
    PERFORM audit_append(p_actor, 'plan.' || p_action, 'ok', p_reason, p_request_sha256,
        jsonb_build_object('plan_id', p_plan, 'version', p_version, 'from', st, 'to', to_state));
    PERFORM idempotency_record(p_actor, p_key, 'plan.act', p_request_sha256,
                               jsonb_build_object('state', to_state));
    RETURN to_state;
END $$;

-- A plan with every version, its events and confirmations, as one document.
CREATE FUNCTION plan_view(p_plan text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'plan_id', p.plan_id, 'kind', p.kind, 'department', p.dept_code, 'year', p.year,
        'created_at', p.created_at, 'created_by', p.created_by,
        'in_force', (SELECT f.version FROM plan_in_force f WHERE f.plan_id = p.plan_id),
        'versions', (SELECT jsonb_agg(jsonb_build_object(
                'version', v.version, 'state', plan_state(v.plan_id, v.version),
                'amends', v.amends, 'created_at', v.created_at, 'created_by', v.created_by,
                'reason', v.reason, 'document_sha256', v.document_sha256, 'document', v.document,
                'events', (SELECT jsonb_agg(jsonb_build_object('state', e.state, 'actor', e.actor,
                                                               'role', e.role, 'at', e.at,
                                                               'reason', e.reason) ORDER BY e.event_id)
                             FROM plan_events e WHERE e.plan_id = v.plan_id AND e.version = v.version),
                'confirmations', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                        'department', c.dept_code, 'part', c.part, 'items', c.items,
                                        'actor', c.actor, 'at', c.at, 'reason', c.reason)
                                        ORDER BY c.dept_code), '[]')
                                    FROM plan_confirmations c
                                   WHERE c.plan_id = v.plan_id AND c.version = v.version))
                ORDER BY v.version)
            FROM plan_versions v WHERE v.plan_id = p.plan_id))
      FROM plans p WHERE p.plan_id = p_plan;
$$;

-- 抽查任务.  A task lives under the version of a plan in force when it was
-- made.  task_versions: every change before the draw; task_events: state
-- changes (open; frozen: its population was frozen when the draw was
-- opened; drawn; voided).
CREATE TABLE task_versions (
    task_id         text NOT NULL CHECK (task_id ~ '^[A-Za-z0-9._-]{2,64}$'),
    version         integer NOT NULL CHECK (version >= 1),
    plan_id         text NOT NULL REFERENCES plans,
    plan_version    integer NOT NULL,
    ad_hoc          boolean NOT NULL,
    delegated       boolean NOT NULL,
    directory       text NOT NULL CHECK (directory IN ('entity', 'project')),
    executing_unit  text NOT NULL,
    jurisdiction    text NOT NULL,
    draw_date       date NOT NULL,
    window_start    date NOT NULL,
    window_end      date NOT NULL,
    document        jsonb NOT NULL,
    document_text   text NOT NULL,  -- the canonical text the digest is of
    document_sha256 text NOT NULL
                    CHECK (document_sha256 = encode(sha256(convert_to(document_text, 'UTF8')), 'hex')),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by      text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (task_id, version),
    FOREIGN KEY (plan_id, plan_version) REFERENCES plan_versions
);
CREATE TRIGGER task_versions_append_only BEFORE UPDATE OR DELETE ON task_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE task_events (
    event_id  bigserial PRIMARY KEY,
    task_id   text NOT NULL,
    version   integer NOT NULL,
    state     text NOT NULL CHECK (state IN ('open', 'frozen', 'drawn', 'voided')),
    actor     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason    text NOT NULL,
    FOREIGN KEY (task_id, version) REFERENCES task_versions
);
CREATE INDEX task_events_task ON task_events (task_id, event_id);
CREATE TRIGGER task_events_append_only BEFORE UPDATE OR DELETE ON task_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE VIEW tasks AS
    SELECT DISTINCT ON (v.task_id) v.*,
           (SELECT e.state FROM task_events e WHERE e.task_id = v.task_id
             ORDER BY e.event_id DESC LIMIT 1) AS state
      FROM task_versions v ORDER BY v.task_id, v.version DESC;

-- The locked list of a draw (抽查名单): the objects a task's draw selected.
-- Written by the draw, in the transaction that logs it (issue 5); the
-- annual cap counts these rows for draws that were not voided.
CREATE TABLE task_list (
    task_id    text NOT NULL,
    object_id  text NOT NULL,
    directory  text NOT NULL,
    stratum    integer NOT NULL,
    position   integer NOT NULL,
    drawn_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    draw_year  integer NOT NULL,
    PRIMARY KEY (task_id, object_id)
);
CREATE INDEX task_list_object ON task_list (directory, object_id, draw_year);
CREATE TRIGGER task_list_append_only BEFORE UPDATE OR DELETE ON task_list
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Tasks whose draw was voided (issue 5 writes the record and this row together).
CREATE TABLE task_voids (
    task_id  text PRIMARY KEY,
    void_idx bigint NOT NULL,  -- the leaf of the void record in the draw log
    actor    text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason   text NOT NULL
);
CREATE TRIGGER task_voids_append_only BEFORE UPDATE OR DELETE ON task_voids
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- How often each object was drawn in a year, by draws still in force.
CREATE VIEW drawn_counts AS
    SELECT l.directory, l.object_id, l.draw_year, count(*) AS n
      FROM task_list l WHERE NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = l.task_id)
     GROUP BY l.directory, l.object_id, l.draw_year;

-- Creates or changes a task that has not been drawn.  p_prefix is the
-- jurisdiction prefix the caller may act in (server/authz.c); the executing
-- unit must lie inside it.
CREATE FUNCTION task_put(p_actor text, p_key text, p_request_sha256 text, p_task text,
                         p_text text, p_doc_sha256 text, p_prefix text, p_reason text)
RETURNS TABLE (version integer, plan_version integer, delegated boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    a record;
    pl plans%ROWTYPE;
    pv plan_versions%ROWTYPE;
    unit departments%ROWTYPE;
    cur tasks%ROWTYPE;
    plan_items jsonb;
    is_delegated boolean;
    v integer;
    r record;
    p_doc jsonb := p_text::jsonb;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'task.put', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN QUERY SELECT (prior->>'version')::integer, (prior->>'plan_version')::integer,
                            (prior->>'delegated')::boolean;
        RETURN;
    END IF;
    SELECT * INTO a FROM active_actor(p_actor);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    SELECT * INTO pl FROM plans WHERE plan_id = p_doc->>'plan_id';
    IF NOT FOUND THEN
        PERFORM ss_bad('no plan ' || (p_doc->>'plan_id'), '没有计划 ' || (p_doc->>'plan_id'),
                       'task.plan_id', 'SS013');
    END IF;
    SELECT v.* INTO pv FROM plan_in_force f JOIN plan_versions v USING (plan_id, version)
     WHERE f.plan_id = pl.plan_id;
    IF NOT FOUND THEN
        PERFORM ss_bad('plan ' || pl.plan_id || ' is not published: no random inspection outside a published plan (Z18)',
                       '计划 ' || pl.plan_id || ' 尚未公布：不得在已公布的计划之外开展随机抽查（Z18）',
                       'task.plan_id');
    END IF;
    IF (p_doc->>'draw_date')::date < make_date(pl.year, 1, 1)
       OR (p_doc->>'draw_date')::date > make_date(pl.year, 12, 31) THEN
        PERFORM ss_bad('the draw date ' || (p_doc->>'draw_date') || ' is outside the plan year ' || pl.year,
                       '抽取日期 ' || (p_doc->>'draw_date') || ' 不在计划年度 ' || pl.year || ' 内',
                       'task.draw_date');
    END IF;
    SELECT * INTO unit FROM departments WHERE dept_code = p_doc->>'executing_unit' AND status = 'active';
    IF NOT FOUND THEN
        PERFORM ss_bad('no active department ' || (p_doc->>'executing_unit'),
                       '没有在用部门 ' || (p_doc->>'executing_unit'), 'task.executing_unit');
    END IF;
    IF unit.jurisdiction NOT LIKE p_prefix || '%' THEN
        PERFORM ss_bad('the executing unit ' || unit.dept_code || ' is in jurisdiction ' ||
                       unit.jurisdiction || ', outside yours',
                       '执行单位 ' || unit.dept_code || ' 属于辖区 ' || unit.jurisdiction || '，不在您的辖区内',
                       'task.executing_unit', 'SS007');
    END IF;
    -- The executing unit is the plan's department, a participant of a joint
    -- plan, or a subordinate of one of them to whom the task is delegated (G15).
    IF unit.dept_code = pl.dept_code OR (pv.document->'participants') ? unit.dept_code THEN
        is_delegated := false;
    ELSIF dept_within(pl.dept_code, unit.dept_code) OR EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(coalesce(pv.document->'participants', '[]')) x
             WHERE dept_within(x, unit.dept_code)) THEN
        is_delegated := true;
    ELSE
        PERFORM ss_bad('department ' || unit.dept_code || ' takes no part in plan ' || pl.plan_id ||
                       ' and is not subordinate to one that does',
                       '部门 ' || unit.dept_code || ' 不参与计划 ' || pl.plan_id || '，也不是参与部门的下级单位',
                       'task.executing_unit');
    END IF;
    IF a.role <> 'legal' AND NOT (a.dept_code IS NOT NULL AND dept_within(a.dept_code, unit.dept_code)) THEN
        PERFORM ss_bad('you act for ' || coalesce(a.dept_code, a.office) || ', which is not the executing unit ' ||
                       unit.dept_code || ' nor above it',
                       '您代表 ' || coalesce(a.dept_code, a.office) || '，不是执行单位 ' || unit.dept_code || ' 或其上级',
                       'task.executing_unit', 'SS007');
    END IF;
    -- The task's items are items of the plan (its rows, or a participant's part).
    SELECT coalesce(jsonb_agg(DISTINCT it), '[]') INTO plan_items FROM (
        SELECT jsonb_array_elements(rw->'items') AS it FROM jsonb_array_elements(pv.document->'rows') rw
        UNION ALL
        SELECT jsonb_array_elements(c.items) FROM plan_confirmations c
         WHERE c.plan_id = pv.plan_id AND c.version = pv.version) s;
    FOR r IN SELECT x #>> '{}' AS code, i - 1 AS i
               FROM jsonb_array_elements(p_doc->'items') WITH ORDINALITY AS t(x, i) LOOP
        IF NOT plan_items @> jsonb_build_array(r.code) THEN
            PERFORM ss_bad('item ' || r.code || ' is not in plan ' || pl.plan_id || ' version ' || pv.version,
                           '事项 ' || r.code || ' 不在计划 ' || pl.plan_id || ' 第 ' || pv.version || ' 版中',
                           'task.items[' || r.i || ']');
        END IF;
    END LOOP;
    SELECT * INTO cur FROM tasks t WHERE t.task_id = p_task;
    IF FOUND AND cur.state <> 'open' THEN
        PERFORM ss_bad('task ' || p_task || ' is ' || cur.state || ': its list is locked and cannot change (Y10)',
                       '任务 ' || p_task || ' 状态为 ' || cur.state || '：名单已锁定，不得变更（Y10）',
                       'task_put.task_id');
    END IF;
    IF FOUND AND (cur.jurisdiction NOT LIKE p_prefix || '%'
                  OR (a.role <> 'legal' AND NOT (a.dept_code IS NOT NULL
                                                 AND dept_within(a.dept_code, cur.executing_unit)))) THEN
        PERFORM ss_bad('task ' || p_task || ' belongs to executing unit ' || cur.executing_unit ||
                       ', outside what you may change',
                       '任务 ' || p_task || ' 属于执行单位 ' || cur.executing_unit || '，您无权修改',
                       'task_put.task_id', 'SS007');
    END IF;
    IF FOUND AND cur.plan_id <> pl.plan_id THEN
        PERFORM ss_bad('task ' || p_task || ' belongs to plan ' || cur.plan_id,
                       '任务 ' || p_task || ' 属于计划 ' || cur.plan_id, 'task.plan_id');
    END IF;
    IF FOUND AND cur.document_sha256 = p_doc_sha256 AND cur.plan_version = pv.version THEN
        v := cur.version;
    ELSE
        v := coalesce(cur.version, 0) + 1;
        INSERT INTO task_versions (task_id, version, plan_id, plan_version, ad_hoc, delegated, directory,
                                   executing_unit, jurisdiction, draw_date, window_start, window_end,
                                   document, document_text, document_sha256, created_by, reason)
        VALUES (p_task, v, pl.plan_id, pv.version, pl.kind = 'ad_hoc', is_delegated, p_doc->>'directory',
                unit.dept_code, unit.jurisdiction, (p_doc->>'draw_date')::date,
                (p_doc #>> '{window,start}')::date, (p_doc #>> '{window,end}')::date,
                p_doc, p_text, p_doc_sha256, p_actor, p_reason);
        INSERT INTO task_events (task_id, version, state, actor, reason)
        VALUES (p_task, v, 'open', p_actor, p_reason);
        PERFORM audit_append(p_actor, 'task.put', 'ok', p_reason, p_request_sha256,
            jsonb_build_object('task_id', p_task, 'version', v, 'plan_id', pl.plan_id,
                               'plan_version', pv.version, 'executing_unit', unit.dept_code,
                               'delegated', is_delegated, 'ad_hoc', pl.kind = 'ad_hoc',
                               'document_sha256', p_doc_sha256));
    END IF;
    PERFORM idempotency_record(p_actor, p_key, 'task.put', p_request_sha256,
        jsonb_build_object('version', v, 'plan_version', pv.version, 'delegated', is_delegated));
    RETURN QUERY SELECT v, pv.version, is_delegated;
END $$;

CREATE FUNCTION task_view(p_task text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'task_id', t.task_id, 'state', t.state, 'version', t.version, 'plan_id', t.plan_id,
        'plan_version', t.plan_version, 'ad_hoc', t.ad_hoc, 'delegated', t.delegated,
        'directory', t.directory, 'executing_unit', t.executing_unit,
        'jurisdiction', t.jurisdiction, 'draw_date', t.draw_date, 'document', t.document,
        'document_sha256', t.document_sha256,
        'events', (SELECT jsonb_agg(jsonb_build_object('version', e.version, 'state', e.state,
                                                       'actor', e.actor, 'at', e.at, 'reason', e.reason)
                                    ORDER BY e.event_id)
                     FROM task_events e WHERE e.task_id = t.task_id))
      FROM tasks t WHERE t.task_id = p_task;
$$;

-- 定向检查: inspections not made by draw (mandated, complaint, referral,
-- emergency, other), recorded so the oversight figures have the right
-- denominators (Y5, G2).
CREATE TABLE targeted_inspections (
    inspection_id text PRIMARY KEY CHECK (inspection_id ~ '^[A-Za-z0-9._-]{2,64}$'),
    dept_code     text NOT NULL,
    directory     text NOT NULL CHECK (directory IN ('entity', 'project')),
    object_id     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('mandated', 'complaint', 'referral', 'emergency', 'other')),
    inspected_on  date NOT NULL,
    items         jsonb NOT NULL,
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason        text NOT NULL
);
CREATE TRIGGER targeted_inspections_append_only BEFORE UPDATE OR DELETE ON targeted_inspections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION targeted_record(p_actor text, p_key text, p_request_sha256 text, p_id text,
                                p_dept text, p_directory text, p_object text, p_kind text,
                                p_on date, p_items jsonb, p_prefix text, p_reason text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    a record;
    unit departments%ROWTYPE;
BEGIN
    IF idempotency_prior(p_actor, p_key, 'targeted.record', p_request_sha256) IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM active_actor(p_actor);
    SELECT * INTO unit FROM departments WHERE dept_code = p_dept AND status = 'active';
    IF NOT FOUND THEN
        PERFORM ss_bad('no active department ' || p_dept, '没有在用部门 ' || p_dept, 'targeted.department');
    END IF;
    IF unit.jurisdiction NOT LIKE p_prefix || '%'
       OR (a.role <> 'legal' AND NOT (a.dept_code IS NOT NULL AND dept_within(a.dept_code, p_dept))) THEN
        PERFORM ss_bad('you may not record inspections for department ' || p_dept,
                       '您不能为部门 ' || p_dept || ' 登记检查', 'targeted.department', 'SS007');
    END IF;
    IF EXISTS (SELECT 1 FROM targeted_inspections WHERE inspection_id = p_id) THEN
        PERFORM ss_bad('inspection ' || p_id || ' is already recorded; records are never changed',
                       '检查 ' || p_id || ' 已登记，登记后不得修改', 'targeted.inspection_id');
    END IF;
    PERFORM items_check(p_items, 'targeted.items', false);
    INSERT INTO targeted_inspections (inspection_id, dept_code, directory, object_id, kind,
                                      inspected_on, items, recorded_by, reason)
    VALUES (p_id, p_dept, p_directory, p_object, p_kind, p_on, p_items, p_actor, p_reason);
    PERFORM audit_append(p_actor, 'targeted.record', 'ok', p_reason, p_request_sha256,
        jsonb_build_object('inspection_id', p_id, 'department', p_dept, 'object_id', p_object,
                           'kind', p_kind, 'inspected_on', p_on));
    PERFORM idempotency_record(p_actor, p_key, 'targeted.record', p_request_sha256, '{}'::jsonb);
END $$;

GRANT SELECT ON department_versions, departments, plans, plan_versions, plan_events,
    plan_confirmations, plan_version_states, plan_in_force, task_versions, task_events, tasks,
    task_list, task_voids, drawn_counts, targeted_inspections TO shuangsui_app;
-- Nobody but the roles granted below runs the functions of this file (the
-- grants of 002 stand).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON FUNCTION department_put(text, text, text, text, text, text, text, text, text, text),
    plan_put(text, text, text, text, text, text, boolean, text),
    plan_confirm(text, text, text, text, integer, text, text, jsonb, text),
    plan_act(text, text, text, text, integer, text, text),
    plan_view(text), plan_state(text, integer),
    task_put(text, text, text, text, text, text, text, text),
    task_view(text),
    targeted_record(text, text, text, text, text, text, text, text, date, jsonb, text, text)
    TO shuangsui_app;

-- 监督指标: the oversight figures of docs/plans.md §6, per department
-- (the executing unit of tasks; the department of targeted inspections and
-- of items) and period [p_from, p_to].  p_dept NULL: every active department.
CREATE FUNCTION stats_figures(p_dept text, p_from date, p_to date)
RETURNS TABLE (dept_code text, name text, period text, value double precision,
               target double precision, at_least boolean, met boolean, has_target boolean,
               numerator bigint, denominator bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    d departments%ROWTYPE;
    per text := p_from || '..' || p_to;
    lo timestamptz := (p_from::text || ' 00:00:00+08')::timestamptz;
    hi timestamptz := ((p_to + 1)::text || ' 00:00:00+08')::timestamptz;
    n_random bigint;
    n_targeted bigint;
    n_items bigint;
    n_covered bigint;
    item_target double precision;
    r record;
BEGIN
    FOR d IN SELECT * FROM departments x
              WHERE (p_dept IS NULL AND x.status = 'active') OR x.dept_code = p_dept
              ORDER BY x.dept_code LOOP
        -- Random inspections: objects on the locked lists of this unit's
        -- draws in the period (voided draws do not count).
        SELECT count(*) INTO n_random FROM task_list l JOIN tasks t USING (task_id)
         WHERE t.executing_unit = d.dept_code AND l.drawn_at >= lo AND l.drawn_at < hi
           AND NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = l.task_id);
        SELECT count(*) INTO n_targeted FROM targeted_inspections ti
         WHERE ti.dept_code = d.dept_code AND ti.inspected_on BETWEEN p_from AND p_to;
        dept_code := d.dept_code; period := per; has_target := true;
        name := 'random_share'; numerator := n_random; denominator := n_random + n_targeted;
        value := CASE WHEN denominator = 0 THEN 0 ELSE numerator::double precision / denominator END;
        target := 0.10; at_least := true; met := denominator > 0 AND value >= target;
        RETURN NEXT;
        -- Items of this department's list covered by its drawn tasks.
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM tasks t
                    WHERE t.executing_unit = d.dept_code AND t.state = 'drawn'
                      AND t.document->'items' ? i.record_id
                      AND EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.task_id
                                     AND e.state = 'drawn' AND e.at >= lo AND e.at < hi)))
          INTO n_items, n_covered
          FROM item_current i WHERE i.status = 'active' AND i.department = d.name;
        item_target := CASE WHEN d.kind = 'market_supervision' THEN 0.70 ELSE 0.50 END;
        name := 'item_coverage'; numerator := n_covered; denominator := n_items;
        value := CASE WHEN n_items = 0 THEN 0 ELSE n_covered::double precision / n_items END;
        target := item_target; at_least := true; met := n_items > 0 AND value >= target;
        RETURN NEXT;
        -- Draws per directory per month (at least 2, Y9).
        FOR r IN SELECT to_char(m, 'YYYY-MM') AS month, dir,
                        (SELECT count(*) FROM tasks t JOIN task_events e
                             ON e.task_id = t.task_id AND e.state = 'drawn'
                          WHERE t.executing_unit = d.dept_code AND t.directory = dir
                            AND e.at >= greatest(lo, (to_char(m, 'YYYY-MM-DD') || ' 00:00:00+08')::timestamptz)
                            AND e.at < least(hi, (to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+08')::timestamptz)
                            AND NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = t.task_id)) AS n
                   FROM generate_series(date_trunc('month', p_from::timestamp),
                                        date_trunc('month', p_to::timestamp), interval '1 month') m,
                        unnest(ARRAY['entity', 'project']) dir
                  ORDER BY 1, 2 LOOP
            name := 'draws_per_month'; period := r.dir || ' ' || r.month;
            numerator := r.n; denominator := 1; value := r.n; target := 2; at_least := true;
            met := r.n >= 2;
            RETURN NEXT;
        END LOOP;
        period := per;
        -- Objects this unit drew in the period that were drawn more than
        -- twice in that year (G14, Y9): must be none.
        SELECT count(DISTINCT (l.directory, l.object_id, l.draw_year)) INTO numerator
          FROM task_list l JOIN tasks t USING (task_id)
          JOIN drawn_counts c ON c.directory = l.directory AND c.object_id = l.object_id
                             AND c.draw_year = l.draw_year
         WHERE t.executing_unit = d.dept_code AND l.drawn_at >= lo AND l.drawn_at < hi
           AND c.n > 2;
        name := 'over_cap'; denominator := 1; value := numerator; target := 0;
        at_least := false; met := numerator = 0;
        RETURN NEXT;
        -- Plans and tasks by state, for information.
        has_target := false; target := 0; at_least := true; met := true; denominator := 1;
        FOR r IN SELECT s.state, count(*) AS n FROM (
                     SELECT DISTINCT ON (pv.plan_id) pv.plan_id, pv.state
                       FROM plan_version_states pv
                      WHERE pv.dept_code = d.dept_code AND pv.year BETWEEN extract(year FROM p_from)
                                                                      AND extract(year FROM p_to)
                      ORDER BY pv.plan_id, pv.version DESC) s
                  GROUP BY s.state ORDER BY s.state LOOP
            name := 'plans_' || r.state; numerator := r.n; value := r.n;
            RETURN NEXT;
        END LOOP;
        FOR r IN SELECT t.state, count(*) AS n FROM tasks t
                  WHERE t.executing_unit = d.dept_code AND t.draw_date BETWEEN p_from AND p_to
                  GROUP BY t.state ORDER BY t.state LOOP
            name := 'tasks_' || r.state; numerator := r.n; value := r.n;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION stats_figures(text, date, date) TO shuangsui_app;
