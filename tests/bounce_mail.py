"""Bounce mail built from the RFCs' own examples: the delivery status notifications of RFC 3464 appendix E and the
abuse reports of RFC 5965 appendix B, as they are printed there, with the example's addresses replaced by a
reader's, the report sent to the message's return path (Delivered-To first, as a mail system writes it on
delivery) and, where the RFC writes "[original message goes here]", the headers of the message that bounced."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

# RFC 3464 E.1: "a simple DSN issued after repeated attempts to deliver a message have failed" (a soft bounce:
# Action failed, Status 4.0.0).
RFC3464_SIMPLE = """\
Date: Thu, 7 Jul 1994 17:16:05 -0400
From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>
Message-Id: <199407072116.RAA14128@CS.UTK.EDU>
Subject: Returned mail: Cannot send message for 5 days
To: <{return_path}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="RAA14128.773615765/CS.UTK.EDU"

--RAA14128.773615765/CS.UTK.EDU

   The original message was received at Sat, 2 Jul 1994 17:10:28 -0400
   from root@localhost

      ----- The following addresses had delivery problems -----
<{reader}>  (unrecoverable error)

   ----- Transcript of session follows -----
<{reader}>... Deferred: Connection timed out
        with larry.slip.umd.edu.
Message could not be delivered for 5 days
Message will be deleted from queue

--RAA14128.773615765/CS.UTK.EDU
content-type: message/delivery-status

Reporting-MTA: dns; cs.utk.edu

Original-Recipient: rfc822;{reader}
Final-Recipient: rfc822;{reader}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {diagnostic}
Last-Attempt-Date: Thu, 7 Jul 1994 17:15:49 -0400

--RAA14128.773615765/CS.UTK.EDU
content-type: message/rfc822

{original}
--RAA14128.773615765/CS.UTK.EDU--
"""

# RFC 3464 E.2: a multi-recipient DSN (the first recipient failed for good: a hard bounce).
RFC3464_MULTI = """\
Date: Fri, 8 Jul 1994 09:21:47 -0400
From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>
Subject: Returned mail: User unknown
To: <{return_path}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="JAA13167.773673707/CS.UTK.EDU"

--JAA13167.773673707/CS.UTK.EDU
content-type: text/plain; charset=us-ascii

      ----- The following addresses had delivery problems -----
<{reader}>  (unrecoverable error)
<wsnell@sdcc13.ucsd.edu>  (unrecoverable error)

--JAA13167.773673707/CS.UTK.EDU
content-type: message/delivery-status

Reporting-MTA: dns; cs.utk.edu

Original-Recipient: rfc822;{reader}
Final-Recipient: rfc822;{reader}
Action: failed
Status: 5.0.0 (permanent failure)
Diagnostic-Code: smtp;  550 '{reader}' is not a
    registered gateway user
Remote-MTA: dns; vnet.ibm.com

Original-Recipient: rfc822;johnh@hpnjld.njd.hp.com
Final-Recipient: rfc822;johnh@hpnjld.njd.hp.com
Action: delayed
Status: 4.0.0 (hpnjld.njd.jp.com: host name lookup failure)

Original-Recipient: rfc822;wsnell@sdcc13.ucsd.edu
Final-Recipient: rfc822;wsnell@sdcc13.ucsd.edu
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 user unknown
Remote-MTA: dns; sdcc13.ucsd.edu

--JAA13167.773673707/CS.UTK.EDU
content-type: message/rfc822

{original}
--JAA13167.773673707/CS.UTK.EDU--
"""

# RFC 3464 E.4's delivery status (a delay: the server still tries), in E.1's envelope.
RFC3464_DELAYED = """\
Date: Thu, 7 Jul 1994 17:16:05 -0400
From: Mail Delivery Subsystem <MAILER-DAEMON@sun2.nsfnet-relay.ac.uk>
Subject: Warning: message delayed
To: <{return_path}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="RAA14128.773615765/CS.UTK.EDU"

--RAA14128.773615765/CS.UTK.EDU

   Your message has not yet been delivered; we keep trying.

--RAA14128.773615765/CS.UTK.EDU
content-type: message/delivery-status

Reporting-MTA: dns; sun2.nsfnet-relay.ac.uk

Final-Recipient: rfc822;{reader}
Status: 4.0.0 (unknown temporary failure)
Action: delayed

--RAA14128.773615765/CS.UTK.EDU--
"""

# RFC 5965 B.2: an abuse report with the optional fields (Original-Mail-From is the message's return path).
RFC5965_COMPLETE = """\
Received: from example.com (example.com [10.0.1.11])
        by example.net with ESMTP id O63d4137594e46;
        Thu, 08 Mar 2005 16:00:00 -0400
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <{mailbox}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{reader}>
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com;
               spf=fail smtp.mail=somespammer@example.com
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html
Reported-Uri: mailto:user@example.com
Removal-Recipient: {reader}

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{original}
--part1_13d.2e68ed54_boundary--
"""

# RFC 5965 B.1: the simple abuse report (three fields; who it is about is only in the enclosed message).
RFC5965_SIMPLE = """\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <{mailbox}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{original}
--part1_13d.2e68ed54_boundary--
"""

_names = itertools.count()


def dsn(template: str, *, return_path: str, reader: str, original: str = "[original message goes here]\n",
        status: str = "4.0.0", diagnostic: str = "426 connection timed out") -> bytes:
    """An RFC 3464 example for `reader`, delivered to `return_path`."""
    text = template.format(return_path=return_path, reader=reader, original=original, status=status,
                           diagnostic=diagnostic)
    return f"Delivered-To: {return_path}\n".encode() + text.encode()


def arf(template: str, *, mailbox: str, reader: str, return_path: str = "", original: str) -> bytes:
    """An RFC 5965 example about the message `original` sent to `reader`, delivered to the bounce `mailbox`."""
    text = template.format(mailbox=mailbox, reader=reader, return_path=return_path, original=original)
    return f"Delivered-To: {mailbox}\n".encode() + text.encode()


def headers_of(message: bytes) -> str:
    """The header block of a message as sent (LF line ends), to stand for "[original message goes here]"."""
    return message.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n", "\n") + "\n"


def deliver(maildir: Path, raw: bytes) -> Path:
    """Put a message into a Maildir's new/ as a mail system does (through tmp/, a unique name)."""
    for part in ("tmp", "new", "cur"):
        (maildir / part).mkdir(parents=True, exist_ok=True)
    name = f"{time.time():.6f}.{os.getpid()}_{next(_names)}.test"
    (maildir / "tmp" / name).write_bytes(raw)
    os.replace(maildir / "tmp" / name, maildir / "new" / name)
    return maildir / "new" / name
