package record

// FindTimestamp returns the offset and timestamp of the first record in
// batch, in offset order, whose timestamp is at least ts, for ListOffsets by
// time. In LogAppendTime batches every record carries the batch
// MaxTimestamp. found is false when no record qualifies. The batch is
// decoded within limit bytes (limit <= 0 means DefaultLimit).
func FindTimestamp(batch []byte, ts int64, limit int) (offset, timestamp int64, found bool, err error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return 0, 0, false, err
	}
	if h.MaxTimestamp < ts {
		return 0, 0, false, nil
	}
	h, records, err := Records(batch, limit)
	if err != nil {
		return 0, 0, false, err
	}
	for i := range records {
		recordTime := recordTimestamp(&h, &records[i])
		if recordTime >= ts {
			return h.BaseOffset + int64(records[i].OffsetDelta), recordTime, true, nil
		}
	}
	return 0, 0, false, nil
}

// MaxTimestampRecord returns the offset of the first record carrying the
// batch's max timestamp, and that timestamp. For LogAppendTime batches it is
// the first record. If no record carries the header's MaxTimestamp (a client
// filled it in wrongly), the first record with the largest timestamp wins. A
// batch without records reports its base offset and MaxTimestamp.
func MaxTimestampRecord(batch []byte, limit int) (offset, timestamp int64, err error) {
	h, records, err := Records(batch, limit)
	if err != nil {
		return 0, 0, err
	}
	offset, timestamp = h.BaseOffset, h.MaxTimestamp
	best := -1
	for i := range records {
		recordTime := recordTimestamp(&h, &records[i])
		if recordTime == h.MaxTimestamp {
			return h.BaseOffset + int64(records[i].OffsetDelta), recordTime, nil
		}
		if best < 0 || recordTime > timestamp {
			best, timestamp = i, recordTime
			offset = h.BaseOffset + int64(records[i].OffsetDelta)
		}
	}
	return offset, timestamp, nil
}

func recordTimestamp(h *Header, r *Record) int64 {
	if h.LogAppendTime() {
		return h.MaxTimestamp
	}
	return h.BaseTimestamp + r.TimestampDelta
}
