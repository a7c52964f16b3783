namespace Ember.Devices.Virtio.Socket;

/// <summary>What <see cref="HostConnectLine.Parse"/> made of the bytes a host connection has sent so far.</summary>
public enum ConnectLineStatus
{
    /// <summary>A valid beginning without its newline yet: read more (the line is still under the cap).</summary>
    Incomplete,

    /// <summary>A whole "CONNECT &lt;port&gt;\n"; the bytes after it are the connection's first payload.</summary>
    Complete,

    /// <summary>No newline within <see cref="HostConnectLine.MaxLength"/> bytes.</summary>
    TooLong,

    /// <summary>Not "CONNECT", a separator, decimal digits, optional trailing blanks and a newline.</summary>
    Malformed,

    /// <summary>The port does not fit in 32 bits.</summary>
    PortOutOfRange,
}
