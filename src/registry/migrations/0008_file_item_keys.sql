-- 待人工处理 items about a file were keyed by the file's row (file:ROW:CODE). Filing a
-- message again (reprocess) stores new rows, so a resolved item came back as new. They are
-- keyed by the message and the file's place in it now (file:MESSAGE:SEQ:CODE), the same on
-- every filing; resolutions made under the old keys move to the new ones. A resolution
-- whose new key is already taken (the same file resolved again after a reprocess) keeps
-- its old key: nothing is lost either way.
UPDATE OR IGNORE resolutions
SET key = (
    SELECT 'file:' || f.message || ':' || f.seq || ':'
           || substr(resolutions.key, length('file:' || f.id || ':') + 1)
    FROM files f
    WHERE resolutions.key LIKE 'file:' || f.id || ':%'
)
WHERE key LIKE 'file:%'
  AND EXISTS (SELECT 1 FROM files f WHERE resolutions.key LIKE 'file:' || f.id || ':%');
