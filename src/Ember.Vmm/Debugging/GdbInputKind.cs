namespace Ember.Vmm.Debugging;

/// <summary>What the packet framer found in the bytes GDB sent.</summary>
internal enum GdbInputKind
{
    /// <summary>A whole packet with a good checksum, unescaped and run-length decoded (acknowledge it with '+').</summary>
    Packet,

    /// <summary>A packet whose checksum did not match, or whose checksum was not hex: ask again with '-'.</summary>
    BadChecksum,

    /// <summary>A packet that arrived intact but is longer than the advertised PacketSize: acknowledge, then reply with an error.</summary>
    Overlong,

    /// <summary>A packet that arrived intact but breaks the escaping or run-length rules: acknowledge, then reply with an error.</summary>
    Malformed,

    /// <summary>A bare 0x03 byte outside a packet: the user pressed Ctrl-C.</summary>
    Interrupt,

    /// <summary>'+': GDB received our last packet.</summary>
    Ack,

    /// <summary>'-': GDB wants our last packet again.</summary>
    Nak,
}
