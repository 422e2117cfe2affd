-- 006_packed_snapshots.sql — a draw's snapshots are stored packed (issue 5).
--
-- A population of 4,000,000 ids is a 76 MB snapshot file.  Sent as text,
-- checked as UTF-8, compressed with lz4 and written, it cost PostgreSQL
-- about 1.7 s, a third of the whole draw.  The server now packs each
-- snapshot file into one zstd frame that states its size (server/snapstore.h)
-- on the draw's worker thread: a fifth to a fifteenth of the bytes, stored
-- as they come.  The file is the frame's content, byte for byte, and its
-- SHA-256 is the digest stored beside it; the server checks it on every
-- read.  To read one by hand:
--   psql -Atc "SELECT encode(packed, 'base64') FROM draw_snapshots WHERE ..." |
--     base64 -d | zstd -d
-- Snapshots stored before keep their text in data; a row has one form.
ALTER TABLE draw_snapshots ADD COLUMN packed bytea,
                           ALTER COLUMN data DROP NOT NULL,
                           ADD CHECK ((data IS NULL) <> (packed IS NULL));
ALTER TABLE draw_snapshots ALTER COLUMN packed SET STORAGE EXTERNAL;

-- As in 005, but the data are the packed frames, stored in packed.
CREATE OR REPLACE FUNCTION draw_open_commit(p_actor text, p_key text, p_request_sha256 text,
                                 p_prefix text,
                                 p_task text, p_task_version integer, p_r bytea, p_witnesses text[],
                                 p_names text[], p_digests bytea[], p_data bytea,
                                 p_lengths integer[],
                                 p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                 p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
    i integer;
    off integer := 1;
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
    IF cardinality(p_lengths) <> cardinality(p_names)
       OR (SELECT sum(l) FROM unnest(p_lengths) l) <> length(p_data) THEN
        RAISE EXCEPTION 'the snapshots'' lengths do not add up to their data';
    END IF;
    FOR i IN 1 .. array_length(p_names, 1) LOOP
        INSERT INTO draw_snapshots (task_id, part, ordinal, name, digest, packed)
        VALUES (p_task, CASE WHEN i = array_length(p_names, 1) - 1 THEN 'pool'
                             WHEN i = array_length(p_names, 1) THEN 'conflicts' ELSE 'stratum' END,
                CASE WHEN i >= array_length(p_names, 1) - 1 THEN 0 ELSE i - 1 END,
                p_names[i], p_digests[i], substring(p_data FROM off FOR p_lengths[i]));
        off := off + p_lengths[i];
    END LOOP;
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'frozen', p_actor, 'draw opened: population frozen (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.open', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('witnesses', p_witnesses), '{}');
END $$;
