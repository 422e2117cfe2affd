-- 004_draws.sql — the randomness service's transparency log and the state
-- of each task's draw (issue 5; docs/draw-spec.md, docs/receipt.md).
--
-- Every signed record is a leaf of the log: its exact bytes, its signature
-- and its RFC 9162 leaf hash.  Leaves are numbered 0, 1, 2, … without gaps;
-- after each append the server signs a checkpoint for the new size, stored
-- in the same transaction.  The server recomputes every leaf hash from the
-- stored bytes when it starts and compares the tree with the last signed
-- checkpoint: a record changed behind its back is found there, by a
-- client's consistency check, and by `shuangsui-verify log`.
--
-- The tables are append-only like the rest: the application role writes
-- only through the functions below, each of which records the leaf, the
-- checkpoint, the state change, the audit event and the idempotency record
-- in the caller's one transaction.

CREATE TABLE log_leaves (
    idx        bigint PRIMARY KEY CHECK (idx >= 0),
    kind       text NOT NULL,
    task_id    text,
    record     bytea NOT NULL,
    signature  bytea NOT NULL,
    leaf_hash  bytea NOT NULL CHECK (length(leaf_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX log_leaves_task ON log_leaves (task_id, idx);
ALTER TABLE log_leaves ALTER COLUMN record SET STORAGE EXTERNAL;
CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The signed checkpoint (C2SP tlog-checkpoint) of every size the log had.
CREATE TABLE log_checkpoints (
    size       bigint PRIMARY KEY CHECK (size >= 1),
    root       bytea NOT NULL CHECK (length(root) = 32),
    note       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- An opened draw: the frozen snapshots, the secret r (revealed by the draw
-- record; its commitment is in the draw-open record), the witnesses expected.
CREATE TABLE draw_opens (
    task_id      text PRIMARY KEY,
    task_version integer NOT NULL,
    open_idx     bigint NOT NULL UNIQUE REFERENCES log_leaves (idx),
    r            bytea NOT NULL CHECK (length(r) = 32),
    witnesses    text[] NOT NULL,
    opened_by    text NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER draw_opens_append_only BEFORE UPDATE OR DELETE ON draw_opens
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The canonical snapshot encodings (docs/draw-spec.md §2): part 'stratum'
-- (one per stratum, ordinal = its index), 'pool', 'conflicts'.
CREATE TABLE draw_snapshots (
    task_id  text NOT NULL REFERENCES draw_opens,
    part     text NOT NULL CHECK (part IN ('stratum', 'pool', 'conflicts')),
    ordinal  integer NOT NULL,
    name     text NOT NULL,
    digest   bytea NOT NULL CHECK (length(digest) = 32),
    data     text NOT NULL,
    PRIMARY KEY (task_id, part, ordinal)
);
CREATE TRIGGER draw_snapshots_append_only BEFORE UPDATE OR DELETE ON draw_snapshots
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
-- Snapshots and records run to tens of megabytes: stored out of line without
-- compression, which would cost more time than the disk it saves.
ALTER TABLE draw_snapshots ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE draw_witnesses (
    task_id      text NOT NULL REFERENCES draw_opens,
    principal_id text NOT NULL,
    idx          bigint NOT NULL UNIQUE REFERENCES log_leaves (idx),
    PRIMARY KEY (task_id, principal_id)
);
CREATE TRIGGER draw_witnesses_append_only BEFORE UPDATE OR DELETE ON draw_witnesses
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE draw_waivers (
    task_id      text PRIMARY KEY REFERENCES draw_opens,
    principal_id text NOT NULL,
    idx          bigint NOT NULL UNIQUE REFERENCES log_leaves (idx)
);
CREATE TRIGGER draw_waivers_append_only BEFORE UPDATE OR DELETE ON draw_waivers
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- One draw per task: the primary key is the rule.
CREATE TABLE draws (
    task_id  text PRIMARY KEY REFERENCES draw_opens,
    draw_idx bigint NOT NULL UNIQUE REFERENCES log_leaves (idx),
    drawn_by text NOT NULL,
    drawn_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER draws_append_only BEFORE UPDATE OR DELETE ON draws
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE draw_recusals (
    idx          bigint PRIMARY KEY REFERENCES log_leaves (idx),
    task_id      text NOT NULL REFERENCES draws,
    object_id    text NOT NULL,
    inspector_id text NOT NULL,
    replacement  text,
    actor        text NOT NULL,
    reason       text NOT NULL
);
CREATE TRIGGER draw_recusals_append_only BEFORE UPDATE OR DELETE ON draw_recusals
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Appends one leaf and the checkpoint of the new size.  The caller (the
-- server's single draw queue) computed p_idx, the root and the signed note;
-- a leaf number that is not the next one means the server's view of the
-- log is stale, and nothing is written.
CREATE FUNCTION log_append(p_kind text, p_task text, p_record bytea, p_sig bytea, p_leaf bytea,
                           p_idx bigint, p_root bytea, p_note text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    next_idx bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('draw-log'));
    SELECT coalesce(max(idx) + 1, 0) INTO next_idx FROM log_leaves;
    IF p_idx <> next_idx THEN
        RAISE EXCEPTION 'the log has % leaves, not %: the server must reload it', next_idx, p_idx;
    END IF;
    IF sha256('\x00'::bytea || p_record) <> p_leaf THEN
        RAISE EXCEPTION 'leaf hash does not match the record';
    END IF;
    INSERT INTO log_leaves (idx, kind, task_id, record, signature, leaf_hash)
    VALUES (p_idx, p_kind, p_task, p_record, p_sig, p_leaf);
    INSERT INTO log_checkpoints (size, root, note) VALUES (p_idx + 1, p_root, p_note);
END $$;

-- A draw act's earlier result under the same idempotency key, looked up
-- before anything else is read or computed: a retry gets the stored leaf,
-- a different request under the same key is refused (SS014).
CREATE FUNCTION draw_prior(p_actor text, p_key text, p_operation text, p_request_sha256 text)
RETURNS jsonb LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT idempotency_prior(p_actor, p_key, p_operation, p_request_sha256);
$$;

-- The state of a task's draw, as the draw functions need it.
CREATE FUNCTION draw_task_state(p_task text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = p_task) THEN 'voided'
        WHEN EXISTS (SELECT 1 FROM draws d WHERE d.task_id = p_task) THEN 'drawn'
        WHEN EXISTS (SELECT 1 FROM draw_opens o WHERE o.task_id = p_task) THEN 'opened'
        WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = p_task) THEN 'open'
        END;
$$;

-- May p_actor run the draw of task t?  The executing unit, a department
-- above it, or the legal office; its jurisdiction inside p_prefix.
CREATE FUNCTION draw_may_run(p_actor text, p_task text, p_prefix text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    a record;
    t tasks%ROWTYPE;
BEGIN
    SELECT * INTO a FROM actor_of(p_actor);
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    IF NOT FOUND THEN
        PERFORM ss_bad('no task ' || p_task, '没有任务 ' || p_task, 'draw.task_id', 'SS013');
    END IF;
    IF a.role IS NULL OR p_prefix IS NULL OR t.jurisdiction NOT LIKE p_prefix || '%'
       OR (a.role <> 'legal' AND NOT (a.dept_code IS NOT NULL AND dept_within(a.dept_code, t.executing_unit))) THEN
        PERFORM ss_bad('you may not run the draw of task ' || p_task || ' (executing unit ' ||
                       t.executing_unit || ')',
                       '您无权进行任务 ' || p_task || ' 的抽取（执行单位 ' || t.executing_unit || '）',
                       'draw.task_id', 'SS007');
    END IF;
END $$;

-- The end of every act: its audit event and its idempotency record (the
-- leaf's number and hash, with extra for the act), in the caller's transaction.
CREATE FUNCTION draw_act_done(p_actor text, p_key text, p_operation text, p_request_sha256 text,
                              p_reason text, p_task text, p_idx bigint, p_leaf bytea,
                              p_detail jsonb, p_extra jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(p_actor, p_operation, 'ok', p_reason, p_request_sha256,
        jsonb_build_object('task_id', p_task, 'leaf', p_idx) || p_detail);
    PERFORM idempotency_record(p_actor, p_key, p_operation, p_request_sha256,
        jsonb_build_object('idx', p_idx, 'leaf', encode(p_leaf, 'hex')) || p_extra);
    RETURN p_idx;
END $$;

CREATE FUNCTION draw_open_commit(p_actor text, p_key text, p_request_sha256 text, p_prefix text,
                                 p_task text, p_task_version integer, p_r bytea, p_witnesses text[],
                                 p_names text[], p_digests bytea[], p_data text[],
                                 p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                 p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
    i integer;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.open', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM draw_may_run(p_actor, p_task, p_prefix);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    IF t.state <> 'open' OR t.version <> p_task_version THEN
        PERFORM ss_bad('task ' || p_task || ' changed while its draw was being opened (now ' ||
                       t.state || ', version ' || t.version || '); try again',
                       '开启抽取期间任务 ' || p_task || ' 已变化（现为 ' || t.state || '，第 ' ||
                       t.version || ' 版），请重试', 'draw.task_id');
    END IF;
    PERFORM log_append('draw-open', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draw_opens (task_id, task_version, open_idx, r, witnesses, opened_by)
    VALUES (p_task, p_task_version, p_idx, p_r, p_witnesses, p_actor);
    FOR i IN 1 .. array_length(p_names, 1) LOOP
        INSERT INTO draw_snapshots (task_id, part, ordinal, name, digest, data)
        VALUES (p_task, CASE WHEN i = array_length(p_names, 1) - 1 THEN 'pool'
                             WHEN i = array_length(p_names, 1) THEN 'conflicts' ELSE 'stratum' END,
                CASE WHEN i >= array_length(p_names, 1) - 1 THEN 0 ELSE i - 1 END,
                p_names[i], p_digests[i], p_data[i]);
    END LOOP;
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'frozen', p_actor, 'draw opened: population frozen (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.open', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('witnesses', p_witnesses), '{}');
END $$;

-- A witness's entropy (p_principal must be one of the expected witnesses).
CREATE FUNCTION draw_witness_commit(p_actor text, p_key text, p_request_sha256 text, p_task text,
                                    p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                    p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    o draw_opens%ROWTYPE;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.witness', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    SELECT * INTO o FROM draw_opens WHERE task_id = p_task;
    IF NOT FOUND OR draw_task_state(p_task) <> 'opened' THEN
        PERFORM ss_bad('the draw of task ' || p_task || ' is not waiting for witnesses (' ||
                       coalesce(draw_task_state(p_task), 'no such task') || ')',
                       '任务 ' || p_task || ' 的抽取不在等待见证（' ||
                       coalesce(draw_task_state(p_task), '无此任务') || '）', 'draw.task_id');
    END IF;
    IF NOT p_actor = ANY (o.witnesses) THEN
        PERFORM ss_bad('you are not a witness of the draw of task ' || p_task,
                       '您不是任务 ' || p_task || ' 抽取的见证人', 'draw.task_id', 'SS007');
    END IF;
    IF EXISTS (SELECT 1 FROM draw_witnesses w WHERE w.task_id = p_task AND w.principal_id = p_actor) THEN
        PERFORM ss_bad('you already witnessed the draw of task ' || p_task,
                       '您已为任务 ' || p_task || ' 的抽取提供过见证输入', 'draw.entropy');
    END IF;
    PERFORM log_append('witness', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draw_witnesses (task_id, principal_id, idx) VALUES (p_task, p_actor, p_idx);
    RETURN draw_act_done(p_actor, p_key, 'draw.witness', p_request_sha256, '', p_task, p_idx, p_leaf,
                         '{}', '{}');
END $$;

-- The legal office records why the expected witnesses are not (all) there.
CREATE FUNCTION draw_waiver_commit(p_actor text, p_key text, p_request_sha256 text, p_task text,
                                   p_reason text, p_record bytea, p_sig bytea, p_leaf bytea,
                                   p_idx bigint, p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.waive', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    IF coalesce(draw_task_state(p_task), '') <> 'opened' OR
       EXISTS (SELECT 1 FROM draw_waivers w WHERE w.task_id = p_task) THEN
        PERFORM ss_bad('the draw of task ' || p_task || ' is not waiting for witnesses',
                       '任务 ' || p_task || ' 的抽取不在等待见证', 'draw.task_id');
    END IF;
    PERFORM log_append('witness-waiver', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draw_waivers (task_id, principal_id, idx) VALUES (p_task, p_actor, p_idx);
    RETURN draw_act_done(p_actor, p_key, 'draw.waive', p_request_sha256, p_reason, p_task, p_idx, p_leaf,
                         '{}', '{}');
END $$;

-- The draw itself: its record, the locked list (抽查名单) and the task's
-- state, in one transaction.  A second draw of a task fails on the primary
-- key of draws: one draw per task, whatever the server does.
CREATE FUNCTION draw_run_commit(p_actor text, p_key text, p_request_sha256 text, p_prefix text,
                                p_task text, p_objects text[], p_strata integer[],
                                p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
    o draw_opens%ROWTYPE;
    missing text;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.run', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM draw_may_run(p_actor, p_task, p_prefix);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    IF coalesce(draw_task_state(p_task), '') <> 'opened' THEN
        PERFORM ss_bad('task ' || p_task || ' is ' || coalesce(draw_task_state(p_task), 'unknown') ||
                       ', not opened for its draw',
                       '任务 ' || p_task || ' 状态为 ' || coalesce(draw_task_state(p_task), '未知') ||
                       '，不是待抽取', 'draw.task_id');
    END IF;
    SELECT * INTO o FROM draw_opens WHERE task_id = p_task;
    SELECT string_agg(w, ', ') INTO missing FROM unnest(o.witnesses) w
     WHERE NOT EXISTS (SELECT 1 FROM draw_witnesses x WHERE x.task_id = p_task AND x.principal_id = w);
    IF (missing IS NOT NULL OR cardinality(o.witnesses) = 0)
       AND NOT EXISTS (SELECT 1 FROM draw_waivers w WHERE w.task_id = p_task) THEN
        PERFORM ss_bad('the draw waits for its witnesses (' || coalesce(missing, 'none named') ||
                       '), or for the legal office to record why they are absent',
                       '抽取须等待见证人（' || coalesce(missing, '未指定') || '），或由法规科记录其缺席原因',
                       'draw.task_id');
    END IF;
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    PERFORM log_append('draw', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draws (task_id, draw_idx, drawn_by) VALUES (p_task, p_idx, p_actor);
    INSERT INTO task_list (task_id, object_id, directory, stratum, position, draw_year)
    SELECT p_task, x.obj, t.directory, x.st, (x.pos - 1)::integer, extract(year FROM t.draw_date)::integer
      FROM unnest(p_objects, p_strata) WITH ORDINALITY AS x(obj, st, pos);
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'drawn', p_actor, 'drawn: list locked (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.run', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('objects', cardinality(p_objects)), '{}');
END $$;

CREATE FUNCTION draw_void_commit(p_actor text, p_key text, p_request_sha256 text, p_task text,
                                 p_reason text, p_record bytea, p_sig bytea, p_leaf bytea,
                                 p_idx bigint, p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.void', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    IF coalesce(draw_task_state(p_task), '') <> 'drawn' THEN
        PERFORM ss_bad('task ' || p_task || ' has no draw in force to void',
                       '任务 ' || p_task || ' 没有可作废的抽取结果', 'draw.task_id');
    END IF;
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    PERFORM log_append('void', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO task_voids (task_id, void_idx, actor, reason) VALUES (p_task, p_idx, p_actor, p_reason);
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'voided', p_actor, p_reason);
    RETURN draw_act_done(p_actor, p_key, 'draw.void', p_request_sha256, p_reason, p_task, p_idx, p_leaf,
                         '{}', '{}');
END $$;

CREATE FUNCTION draw_recusal_commit(p_actor text, p_key text, p_request_sha256 text, p_prefix text,
                                    p_task text, p_object text, p_inspector text,
                                    p_replacement text, p_reason text, p_record bytea, p_sig bytea,
                                    p_leaf bytea, p_idx bigint, p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.recuse', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM draw_may_run(p_actor, p_task, p_prefix);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    IF coalesce(draw_task_state(p_task), '') <> 'drawn' THEN
        PERFORM ss_bad('task ' || p_task || ' has no draw in force',
                       '任务 ' || p_task || ' 没有有效的抽取结果', 'draw.task_id');
    END IF;
    PERFORM log_append('recusal', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draw_recusals (idx, task_id, object_id, inspector_id, replacement, actor, reason)
    VALUES (p_idx, p_task, p_object, p_inspector, p_replacement, p_actor, p_reason);
    RETURN draw_act_done(p_actor, p_key, 'draw.recuse', p_request_sha256, p_reason, p_task, p_idx, p_leaf,
                         jsonb_build_object('object_id', p_object, 'inspector_id', p_inspector, 'replacement', p_replacement), jsonb_build_object('replacement', p_replacement));
END $$;

-- A key rotation: the record signed by the old and the new key, appended
-- by "shuangsuid rotate-key" while the server is stopped.
CREATE FUNCTION draw_key_rotation_commit(p_actor text, p_reason text, p_record bytea, p_sig bytea,
                                         p_leaf bytea, p_idx bigint, p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM log_append('key-rotation', NULL, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    PERFORM audit_append(p_actor, 'draw.key_rotation', 'ok', p_reason, '',
        jsonb_build_object('leaf', p_idx));
    RETURN p_idx;
END $$;

GRANT SELECT ON log_leaves, log_checkpoints, draw_opens, draw_snapshots, draw_witnesses,
    draw_waivers, draws, draw_recusals TO shuangsui_app;
-- Nobody but the roles granted below runs the functions of this file (the
-- grants of 002 and 003 stand).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    draw_task_state(text), draw_may_run(text, text, text), draw_prior(text, text, text, text),
    draw_open_commit(text, text, text, text, text, integer, bytea, text[], text[], bytea[], text[],
                     bytea, bytea, bytea, bigint, bytea, text),
    draw_witness_commit(text, text, text, text, bytea, bytea, bytea, bigint, bytea, text),
    draw_waiver_commit(text, text, text, text, text, bytea, bytea, bytea, bigint, bytea, text),
    draw_run_commit(text, text, text, text, text, text[], integer[], bytea, bytea, bytea, bigint,
                    bytea, text),
    draw_void_commit(text, text, text, text, text, bytea, bytea, bytea, bigint, bytea, text),
    draw_recusal_commit(text, text, text, text, text, text, text, text, text, bytea, bytea, bytea,
                        bigint, bytea, text),
    draw_key_rotation_commit(text, text, bytea, bytea, bytea, bigint, bytea, text)
    TO shuangsui_app;
