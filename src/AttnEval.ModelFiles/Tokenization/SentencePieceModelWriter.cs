using Google.Protobuf;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>
/// Writes a SentencePiece <c>ModelProto</c> (sentencepiece_model.proto) in memory, so vocabularies stored in other
/// formats (llama2.c <c>tokenizer.bin</c>, HF <c>tokenizer.json</c> with byte fallback) are read by the library's
/// <c>SentencePieceTokenizer</c>: only the model description is produced here, never a tokenization algorithm.
/// Fields written: pieces (1: piece, 2: score, 3: type), trainer_spec (3: model_type, 4: vocab_size, 35: byte_fallback,
/// 40–42: unk/bos/eos ids, 45–47: their pieces), normalizer_spec (1: name, 3: add_dummy_prefix,
/// 4: remove_extra_whitespaces, 5: escape_whitespaces).
/// </summary>
internal static class SentencePieceModelWriter
{
    /// <summary>SentencePiece piece types.</summary>
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    /// <summary>One vocabulary entry; the list index is the id. Spaces must already be written as U+2581.</summary>
    public readonly record struct Piece(string Text, float Score, PieceType Type);

    /// <summary>Serialises a BPE model.</summary>
    public static byte[] WriteBpe(IReadOnlyList<Piece> pieces, int unkId, int bosId, int eosId, bool byteFallback, bool addDummyPrefix)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        foreach (var p in pieces)
        {
            var msg = Message(w =>
            {
                w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteString(p.Text);
                w.WriteTag(2, WireFormat.WireType.Fixed32); w.WriteFloat(p.Score);
                w.WriteTag(3, WireFormat.WireType.Varint); w.WriteEnum((int)p.Type);
            });
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(msg));
        }
        string PieceAt(int id) => id >= 0 && id < pieces.Count ? pieces[id].Text : "";
        var trainer = Message(w =>
        {
            w.WriteTag(3, WireFormat.WireType.Varint); w.WriteEnum(2);                      // model_type = BPE
            w.WriteTag(4, WireFormat.WireType.Varint); w.WriteInt32(pieces.Count);          // vocab_size
            w.WriteTag(35, WireFormat.WireType.Varint); w.WriteBool(byteFallback);
            w.WriteTag(40, WireFormat.WireType.Varint); w.WriteInt32(unkId);
            w.WriteTag(41, WireFormat.WireType.Varint); w.WriteInt32(bosId);
            w.WriteTag(42, WireFormat.WireType.Varint); w.WriteInt32(eosId);
            w.WriteTag(45, WireFormat.WireType.LengthDelimited); w.WriteString(PieceAt(unkId));
            w.WriteTag(46, WireFormat.WireType.LengthDelimited); w.WriteString(PieceAt(bosId));
            w.WriteTag(47, WireFormat.WireType.LengthDelimited); w.WriteString(PieceAt(eosId));
        });
        o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(trainer));
        var normalizer = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteString("identity");
            w.WriteTag(3, WireFormat.WireType.Varint); w.WriteBool(addDummyPrefix);
            w.WriteTag(4, WireFormat.WireType.Varint); w.WriteBool(false);                  // remove_extra_whitespaces
            w.WriteTag(5, WireFormat.WireType.Varint); w.WriteBool(true);                   // escape_whitespaces (' ' ↔ U+2581)
        });
        o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(normalizer));
        o.Flush();
        return ms.ToArray();
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var w = new CodedOutputStream(ms);
        write(w);
        w.Flush();
        return ms.ToArray();
    }
}
