/*
 * 2006-received - Received: fields parsed into relays, the trust walk
 * and the relay pseudo-headers, against what SpamAssassin 4.0.1 gives
 * (every expected string below is its output for the same input, but
 * for the one line marked as a conscious difference).
 *
 * First the tokenizer's clauses and comments.  Each line is parsed as
 * written and again folded and padded, as a message would carry it; the
 * address of originating_ip_headers values; the netset entry forms; then
 * whole messages: the inferred trust boundary, trusted/internal/
 * msa_networks, a fetchmail restart, a qmail-scanner envelope sender,
 * originating_ip_headers; and the rule engine's X-Spam-Relays-*, ALL-*
 * and EnvelopeFrom with the directives in a rule file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "message.h"
#include "netset.h"
#include "received.h"
#include "received_field.h"
#include "received_token.h"
#include "rules-test.h"
#include "rules.h"
#include "str.h"
#include "test-lib.h"

/* SpamAssassin's parse_received_line: the relay, NULL for a field that is
   not a handover, "" for an unparseable one */
static const struct {
	const char *line;
	const char *want;
} lines[] = {
	/* sendmail */
	{ "from mail1.insuranceiq.com (host66.insuranceiq.com"
	  " [65.217.159.66] (may be forged)) by dogma.slashnull.org"
	  " (8.11.6/8.11.6) with ESMTP id h2F0c2x31856 for"
	  " <jm@jmason.org>; Sat, 15 Mar 2003 00:38:03 GMT",
	  "[ ip=65.217.159.66 rdns=host66.insuranceiq.com"
	  " helo=mail1.insuranceiq.com by=dogma.slashnull.org ident="
	  " envfrom= intl=0 id=h2F0c2x31856 auth= msa=0 ]" },
	{ "from ran-out.mx.develooper.com"
	  " (IDENT:qmailr@one.develooper.com [64.81.84.115]) by"
	  " dogma.slashnull.org (8.11.6/8.11.6) with SMTP id"
	  " h381Vvf19860 for <jm-cpan@jmason.org>; Tue, 8 Apr 2003"
	  " 02:31:57 +0100",
	  "[ ip=64.81.84.115 rdns=one.develooper.com"
	  " helo=ran-out.mx.develooper.com by=dogma.slashnull.org"
	  " ident=qmailr envfrom= intl=0 id=h381Vvf19860 auth= msa=0 ]" },
	{ "from roissy (p573.as1.exs.dublin.eircom.net [159.134.226.61])"
	  " (authenticated bits=0) by slate.dublin.wbtsystems.com"
	  " (8.12.6/8.12.6) with ESMTP id g9MFWcvb068860 for"
	  " <jm@jmason.org>; Tue, 22 Oct 2002 16:32:39 +0100 (IST)",
	  "[ ip=159.134.226.61 rdns=p573.as1.exs.dublin.eircom.net"
	  " helo=roissy by=slate.dublin.wbtsystems.com ident= envfrom="
	  " intl=0 id=g9MFWcvb068860 auth=Sendmail msa=0 ]" },
	{ "from mail.example.com (mail.example.com [198.51.100.4]) by"
	  " mx.example.net (8.13.1/8.13.1) with ESMTP id k1ABC123 for"
	  " <u@example.net>; Mon, 1 Jan 2007 00:00:00 GMT (envelope-from"
	  " <sender@example.com>)",
	  "[ ip=198.51.100.4 rdns=mail.example.com helo=mail.example.com"
	  " by=mx.example.net ident= envfrom=sender@example.com intl=0"
	  " id=k1ABC123 auth= msa=0 ]" },
	/* Postfix */
	{ "from localhost (unknown [127.0.0.1]) by cabbage.jmason.org"
	  " (Postfix) with ESMTP id A96E18BD97 for <jm@localhost>; Thu,"
	  " 13 Mar 2003 15:23:15 -0500 (EST)",
	  "[ ip=127.0.0.1 rdns= helo=localhost by=cabbage.jmason.org"
	  " ident= envfrom= intl=0 id=A96E18BD97 auth= msa=0 ]" },
	{ "from 207.8.214.3 (unknown[211.94.164.65]) by puzzle.pobox.com"
	  " (Postfix) with SMTP id 9029AFB732; Sat,  8 Nov 2003 17:57:46"
	  " -0500 (EST)",
	  "[ ip=211.94.164.65 rdns= helo=207.8.214.3 by=puzzle.pobox.com"
	  " ident= envfrom= intl=0 id=9029AFB732 auth= msa=0 ]" },
	{ "from [192.168.1.2] (dsl-1-2-3-4.example.net [203.0.113.7])"
	  " (Authenticated sender: alice) by smtp.example.com (Postfix)"
	  " with ESMTPSA id 4BC2F1D; Mon, 1 Jan 2024 10:00:00 +0100 (CET)",
	  "[ ip=203.0.113.7 rdns=dsl-1-2-3-4.example.net"
	  " helo=!192.168.1.2! by=smtp.example.com ident= envfrom="
	  " intl=0 id=4BC2F1D auth=ESMTPSA msa=0 ]" },
	{ "from host.example (host.example [198.51.100.1])"
	  " (Authenticated sender: bob@example.org) by mail.example.org"
	  " (Postfix) with ESMTP id 12345; Mon, 1 Jan 2024 10:00:00"
	  " +0100 (CET)",
	  "[ ip=198.51.100.1 rdns=host.example helo=host.example"
	  " by=mail.example.org ident= envfrom= intl=0 id=12345"
	  " auth=Postfix msa=0 ]" },
	{ "from mail.example.net (mail.example.net [IPv6:2001:db8::25])"
	  " by mx.example.org (Postfix) with ESMTPS id 4A1B2C3D for"
	  " <u@example.org>; Tue, 2 Jan 2024 08:00:00 +0000 (UTC)",
	  "[ ip=2001:db8::25 rdns=mail.example.net helo=mail.example.net"
	  " by=mx.example.org ident= envfrom= intl=0 id=4A1B2C3D auth="
	  " msa=0 ]" },
	/* qmail, qmail-ldap */
	{ "from postfix3-2.free.fr (HELO machine.domain.com)"
	  " (foobar@213.228.0.169) by totor.bouissou.net with SMTP; 14"
	  " Nov 2003 08:05:50 -0000",
	  "[ ip=213.228.0.169 rdns=postfix3-2.free.fr"
	  " helo=machine.domain.com by=totor.bouissou.net ident=foobar"
	  " envfrom= intl=0 id= auth= msa=0 ]" },
	{ "from unknown (HELO terpsichore.farfalle.com)"
	  " (jdavid@[216.254.40.70]) (envelope-sender"
	  " <jdavid@farfalle.com>) by mail13.speakeasy.net"
	  " (qmail-ldap-1.03) with SMTP for <jm@jmason.org>; 12 Feb 2003"
	  " 18:23:19 -0000",
	  "[ ip=216.254.40.70 rdns= helo=terpsichore.farfalle.com"
	  " by=mail13.speakeasy.net ident=jdavid"
	  " envfrom=jdavid@farfalle.com intl=0 id= auth= msa=0 ]" },
	{ "from x1-6-00-04-bd-d2-e0-a3.k317.webspeed.dk"
	  " (benelli@80.167.158.170) by totor.bouissou.net with SMTP; 5"
	  " Nov 2003 23:18:42 -0000",
	  "[ ip=80.167.158.170"
	  " rdns=x1-6-00-04-bd-d2-e0-a3.k317.webspeed.dk"
	  " helo=x1-6-00-04-bd-d2-e0-a3.k317.webspeed.dk"
	  " by=totor.bouissou.net ident=benelli envfrom= intl=0 id="
	  " auth= msa=0 ]" },
	{ "from unknown (HELO feux01a-isp) (213.199.4.210) by"
	  " totor.bouissou.net with SMTP; 1 Nov 2003 07:05:19 -0000",
	  "[ ip=213.199.4.210 rdns= helo=feux01a-isp"
	  " by=totor.bouissou.net ident= envfrom= intl=0 id= auth= msa=0"
	  " ]" },
	/* qmail-inject: not a handover */
	{ "(qmail 27981 invoked by uid 225); 14 Mar 2003 07:24:34 -0000",
	  NULL },
	/* Exim */
	{ "from [61.174.163.26] (helo=host) by"
	  " sc8-sf-list1.sourceforge.net with smtp (Exim 3.31-VA-mm2 #1"
	  " (Debian)) id 18t2z0-0001NX-00 for"
	  " <razor-users@lists.sourceforge.net>; Wed, 12 Mar 2003"
	  " 01:57:10 -0800",
	  "[ ip=61.174.163.26 rdns= helo=host"
	  " by=sc8-sf-list1.sourceforge.net ident= envfrom= intl=0"
	  " id=18t2z0-0001NX-00 auth= msa=0 ]" },
	{ "from [218.19.142.229] (helo=hotmail.com ident=yiuhyotp) by"
	  " yzordderrex with smtp (Exim 3.35 #1 (Debian)) id"
	  " 194BE5-0005Zh-00; Sat, 12 Apr 2003 03:58:53 +0100",
	  "[ ip=218.19.142.229 rdns= helo=hotmail.com by=yzordderrex"
	  " ident=yiuhyotp envfrom= intl=0 id=194BE5-0005Zh-00 auth="
	  " msa=0 ]" },
	{ "from sc8-sf-list1-b.sourceforge.net ([10.3.1.13]"
	  " helo=sc8-sf-list1.sourceforge.net) by"
	  " sc8-sf-list2.sourceforge.net with esmtp (Exim 3.31-VA-mm2 #1"
	  " (Debian)) id 18t301-0007Bh-00; Wed, 12 Mar 2003 01:58:13"
	  " -0800",
	  "[ ip=10.3.1.13 rdns=sc8-sf-list1-b.sourceforge.net"
	  " helo=sc8-sf-list1.sourceforge.net"
	  " by=sc8-sf-list2.sourceforge.net ident= envfrom= intl=0"
	  " id=18t301-0007Bh-00 auth= msa=0 ]" },
	{ "from server040.webpack.hosteurope.de ([80.237.130.48]:52313)"
	  " by vps832469583.serverpool.info with esmtps"
	  " (TLS-1.0:DHE_RSA_3DES_EDE_CBC_SHA:24) (Exim 4.50) id"
	  " 1GzVLs-0002Oz-7b; Fri, 8 Dec 2006 11:00:00 +0100",
	  "[ ip=80.237.130.48 rdns=server040.webpack.hosteurope.de"
	  " helo=server040.webpack.hosteurope.de"
	  " by=vps832469583.serverpool.info ident= envfrom= intl=0"
	  " id=1GzVLs-0002Oz-7b auth= msa=0 ]" },
	{ "from boggle.ihug.co.nz [203.109.252.209] by grunt6.ihug.co.nz"
	  " with esmtp (Exim 3.35 #1 (Debian)) id 18SWRe-0006X6-00; Sun,"
	  " 29 Dec 2002 18:57:06 +1300",
	  "[ ip=203.109.252.209 rdns=boggle.ihug.co.nz"
	  " helo=boggle.ihug.co.nz by=grunt6.ihug.co.nz ident= envfrom="
	  " intl=0 id=18SWRe-0006X6-00 auth= msa=0 ]" },
	{ "from andrew by trinity.supernews.net with local (Exim 4.12)"
	  " id 18xeL6-000Dn1-00; Tue, 25 Mar 2003 02:39:00 +0000",
	  NULL },
	{ "from helene8.i.pinwand.net (helene.cats.ms) [10.0.8.6.13219]"
	  " (mail) by lisbeth.i.pinwand.net with esmtp (Exim 3.35 #1"
	  " (Debian)) id 1CO5y7-0001vC-00; Sun, 31 Oct 2004 04:01:23"
	  " +0100",
	  "[ ip=10.0.8.6 rdns=helene8.i.pinwand.net helo=helene.cats.ms"
	  " by=lisbeth.i.pinwand.net ident= envfrom= intl=0"
	  " id=1CO5y7-0001vC-00 auth= msa=0 ]" },
	{ "from mail-wm1-f52.google.com ([209.85.128.52]:33950) by"
	  " mx.example.org with esmtps (TLS1.3) tls"
	  " TLS_AES_128_GCM_SHA256 (Exim 4.96) (envelope-from"
	  " <someone@gmail.com>) id 1qAbCd-000123-0A for u@example.org;"
	  " Tue, 06 Jun 2023 10:00:00 +0000",
	  "[ ip=209.85.128.52 rdns=mail-wm1-f52.google.com"
	  " helo=mail-wm1-f52.google.com by=mx.example.org ident="
	  " envfrom=someone@gmail.com intl=0 id=1qAbCd-000123-0A auth="
	  " msa=0 ]" },
	/* Microsoft SMTPSVC, Exchange, Office 365 */
	{ "from inet-vrs-05.redmond.corp.microsoft.com ([157.54.6.157])"
	  " by INET-IMC-05.redmond.corp.microsoft.com with Microsoft"
	  " SMTPSVC(5.0.2195.6624); Thu, 6 Mar 2003 12:02:35 -0800",
	  "[ ip=157.54.6.157 rdns="
	  " helo=inet-vrs-05.redmond.corp.microsoft.com"
	  " by=INET-IMC-05.redmond.corp.microsoft.com ident= envfrom="
	  " intl=0 id= auth= msa=0 ]" },
	{ "from tthompson ([217.35.105.172] unverified) by"
	  " mail.neosinteractive.com with Microsoft"
	  " SMTPSVC(5.0.2195.5329); Tue, 11 Mar 2003 13:23:01 +0000",
	  "[ ip=217.35.105.172 rdns= helo=tthompson"
	  " by=mail.neosinteractive.com ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	{ "from mail pickup service by mail1.insuranceiq.com with"
	  " Microsoft SMTPSVC; Thu, 13 Feb 2003 19:05:39 -0500",
	  NULL },
	{ "from EXC-DAG-02.global.net (10.45.252.152) by"
	  " EXC-DAG-02.global.net (10.45.252.152) with Microsoft SMTP"
	  " Server (version=TLS1_2,"
	  " cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) id"
	  " 15.1.1261.35; Mon, 29 Oct 2018 11:17:19 +0100",
	  "[ ip=10.45.252.152 rdns=EXC-DAG-02.global.net"
	  " helo=EXC-DAG-02.global.net by=EXC-DAG-02.global.net ident="
	  " envfrom= intl=0 id=15.1.1261.35 auth= msa=0 ]" },
	{ "from AM5PR0402MB2836.eurprd04.prod.outlook.com"
	  " ([fe80::19bd:c588:dd17:5226]) by"
	  " AM5PR0402MB2836.eurprd04.prod.outlook.com"
	  " ([fe80::19bd:c588:dd17:5226%6]) with mapi id 15.20.1943.023;"
	  " Wed, 5 Jun 2019 10:17:08 +0000",
	  "[ ip=fe80::19bd:c588:dd17:5226 rdns="
	  " helo=AM5PR0402MB2836.eurprd04.prod.outlook.com"
	  " by=AM5PR0402MB2836.eurprd04.prod.outlook.com ident= envfrom="
	  " intl=0 id= auth= msa=0 ]" },
	{ "from ns.elcanto.co.kr (66.161.246.58 [66.161.246.58]) by"
	  " mail.ssccbelen.edu.pe with SMTP (Microsoft Exchange Internet"
	  " Mail Service Version 5.5.1960.3) id G69TW478; Thu, 13 Mar"
	  " 2003 14:01:10 -0500",
	  "[ ip=66.161.246.58 rdns=66.161.246.58 helo=ns.elcanto.co.kr"
	  " by=mail.ssccbelen.edu.pe ident= envfrom= intl=0 id=G69TW478"
	  " auth= msa=0 ]" },
	{ "from SPIDERMAN ([10.1.1.5]) by mail.example.com with"
	  " Microsoft Exchange Server HTTP-DAV ; Tue, 25 Mar 2003"
	  " 11:58:27 -0500",
	  "[ ip=10.1.1.5 rdns= helo=SPIDERMAN by=mail.example.com ident="
	  " envfrom= intl=0 id= auth=HTTP-DAV msa=0 ]" },
	/* webmail over HTTP */
	{ "from 217.137.58.28 ([217.137.58.28]) by webmail.ukonline.net"
	  " (IMP) with HTTP for <anarchyintheuk@localhost>; Sun, 11 Apr"
	  " 2004 00:31:07 +0100",
	  "[ ip=217.137.58.28 rdns= helo= by=webmail.ukonline.net ident="
	  " envfrom= intl=0 id= auth=HTTP msa=0 ]" },
	{ "from 142.169.110.122 (SquirrelMail authenticated user"
	  " synapse) by mail.nomis80.org with HTTP; Sat, 3 Apr 2004"
	  " 10:33:43 -0500 (EST)",
	  "[ ip=142.169.110.122 rdns= helo= by=mail.nomis80.org ident="
	  " envfrom= intl=0 id= auth=HTTP msa=0 ]" },
	{ "from [193.220.176.134] by web40310.mail.yahoo.com via HTTP;"
	  " Wed, 12 Feb 2003 14:22:21 PST",
	  "[ ip=193.220.176.134 rdns= helo= by=web40310.mail.yahoo.com"
	  " ident= envfrom= intl=0 id= auth= msa=0 ]" },
	{ "from 213.123.174.21 by lw11fd.law11.hotmail.msn.com with"
	  " HTTP; Wed, 24 Jul 2002 16:36:44 GMT",
	  "[ ip=213.123.174.21 rdns= helo="
	  " by=lw11fd.law11.hotmail.msn.com ident= envfrom= intl=0 id="
	  " auth=HTTP msa=0 ]" },
	{ "from 82.135.198.129 by FWM-M18.sysops.aol.com (64.12.168.82)"
	  " with HTTP (WebMailUI); Tue, 19 Jun 2007 11:16:54 -0400",
	  "[ ip=82.135.198.129 rdns= helo= by=FWM-M18.sysops.aol.com"
	  " ident= envfrom= intl=0 id= auth=HTTP msa=0 ]" },
	{ "from [129.24.215.125] by ws1-7.us4.outblaze.com with http for"
	  " _bushisevil_@mail.com; Thu, 13 Feb 2003 15:59:28 -0500",
	  "[ ip=129.24.215.125 rdns= helo= by=ws1-7.us4.outblaze.com"
	  " ident= envfrom= intl=0 id= auth=http msa=0 ]" },
	/* mail fetchers: skipped */
	{ "from cabbage.jmason.org [127.0.0.1] by localhost with IMAP"
	  " (fetchmail-5.9.0) for jm@localhost (single-drop); Thu, 13"
	  " Mar 2003 20:39:56 -0800 (PST)",
	  NULL },
	{ "from pop3.mail.dk (195.41.46.251) by loki.valhalla with POP3;"
	  " 14 Apr 2010 11:14:29 -0000",
	  NULL },
	/* qpsmtpd, LMTP, GMX */
	{ "from x71-x56-x24-5.webspeed.dk (HELO niels) (69.96.3.15) by"
	  " la.mx.develooper.com (qpsmtpd/0.27-dev) with SMTP; Fri, 02"
	  " Jan 2004 19:26:52 -0800",
	  "[ ip=69.96.3.15 rdns=x71-x56-x24-5.webspeed.dk helo=niels"
	  " by=la.mx.develooper.com ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	{ "from mail-backend.DDDD.com (LHLO mail-backend.DDDD.com)"
	  " (10.2.2.20) by mail-backend.DDDD.com with LMTP; Thu, 18 Jun"
	  " 2015 16:50:56 -0700 (PDT)",
	  "[ ip=10.2.2.20 rdns=mail-backend.DDDD.com"
	  " helo=mail-backend.DDDD.com by=mail-backend.DDDD.com ident="
	  " envfrom= intl=0 id= auth= msa=0 ]" },
	{ "from dslb-082-083-045-064.pools.arcor-ip.net (EHLO homepc)"
	  " [82.83.45.64] by mail.gmx.net (mp010) with SMTP; 03 Feb 2007"
	  " 13:13:47 +0100",
	  "[ ip=82.83.45.64 rdns=dslb-082-083-045-064.pools.arcor-ip.net"
	  " helo=homepc by=mail.gmx.net ident= envfrom= intl=0 id="
	  " auth=GMX (SMTP / mail.gmx.net) msa=0 ]" },
	/* CommuniGate Pro, ecelerity, XMail */
	{ "from [192.168.1.104] (account nazgul HELO [192.168.1.104]) by"
	  " somewhere.com (CommuniGate Pro SMTP 3.5.7) with ESMTP-TLS id"
	  " 2088434; Fri, 07 Mar 2003 13:05:06 -0500",
	  "[ ip=192.168.1.104 rdns= helo=!192.168.1.104!"
	  " by=somewhere.com ident= envfrom= intl=0 id=2088434"
	  " auth=Communigate msa=0 ]" },
	{ "from [212.87.144.30] (account seiz [212.87.144.30] verified)"
	  " by x.imd.net (CommuniGate Pro SMTP 4.0.3) with ESMTP-TLS id"
	  " 5026665 for spamassassin-talk@lists.sourceforge.net; Wed, 15"
	  " Jan 2003 16:27:05 +0100",
	  "[ ip=212.87.144.30 rdns= helo= by=x.imd.net ident= envfrom="
	  " intl=0 id=5026665 auth=Communigate msa=0 ]" },
	{ "from ([192.168.1.151:49601] helo=dev1.democracyinaction.org)"
	  " by m12.prod.democracyinaction.com (ecelerity 2.1.1.3"
	  " r(11743)) with ESMTP id 52/92-02454-89FBA054 for"
	  " <example@vandinter.org>; Fri, 15 Sep 2006 10:58:32 -0400",
	  "[ ip=192.168.1.151 rdns= helo=dev1.democracyinaction.org"
	  " by=m12.prod.democracyinaction.com ident= envfrom= intl=0"
	  " id=52/92-02454-89FBA054 auth= msa=0 ]" },
	{ "from list.brainbuzz.com (63.146.189.86:23198) by"
	  " mx1.yourtech.net with [XMail 1.20 ESMTP Server] id <S72E>"
	  " for <jason@ellingson.org.spamassassin.org> from"
	  " <bounce-cscommunity-11965901@list.cramsession.com.spamassassi"
	  "n.org>; Sat, 18 Sep 2004 23:17:54 -0500",
	  "[ ip=63.146.189.86 rdns= helo=list.brainbuzz.com"
	  " by=mx1.yourtech.net ident="
	  " envfrom=bounce-cscommunity-11965901@list.cramsession.com.spam"
	  "assassin.org intl=0 id=S72E auth= msa=0 ]" },
	/* simta (upper case), Norton AntiVirus gateway, sendmail -t */
	{ "FROM hackers.mr.itd.umich.edu (smtp.mail.umich.edu"
	  " [141.211.14.81]) BY madman.mr.itd.umich.edu ID"
	  " 434B508E.174A6.13932 ; 11 Oct 2005 01:41:34 -0400",
	  "[ ip=141.211.14.81 rdns=smtp.mail.umich.edu"
	  " helo=hackers.mr.itd.umich.edu by=madman.mr.itd.umich.edu"
	  " ident= envfrom= intl=0 id=434B508E.174A6.13932 auth= msa=0 ]" },
	{ "(from localhost [24.180.47.240]) by host.name (NAVGW"
	  " 2.5.2.12) with SMTP id M2006060503484615455 for"
	  " <user@domain.co.uk>; Mon, 05 Jun 2006 03:48:47 +0100",
	  "[ ip=24.180.47.240 rdns= helo=localhost by=host.name ident="
	  " envfrom= intl=0 id=M2006060503484615455 auth= msa=0 ]" },
	{ "(from username@localhost) by home.example.com"
	  " (8.12.11/8.12.11/Submit) id iBADHRP6011034; Fri, 10 Dec 2004"
	  " 13:17:27 GMT",
	  NULL },
	/* IPv4-mapped IPv6, Gmail */
	{ "from bushinternet.com (softdnserr [::ffff:61.99.99.67]) by"
	  " mail.cs.helsinki.fi with esmtp; Fri, 22 Aug 2003 12:25:41"
	  " +0300",
	  "[ ip=61.99.99.67 rdns= helo=bushinternet.com"
	  " by=mail.cs.helsinki.fi ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	{ "from Agni (localhost [::ffff:127.0.0.1]) (TLS: TLSv1/SSLv3,"
	  " 168bits,DES-CBC3-SHA) by agni.forevermore.net with esmtp;"
	  " Mon, 28 Oct 2002 14:48:52 -0800",
	  "[ ip=127.0.0.1 rdns=localhost helo=Agni"
	  " by=agni.forevermore.net ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	{ "from mail-sor-f41.google.com (mail-sor-f41.google.com."
	  " [209.85.220.41]) by mx.google.com with SMTPS id"
	  " x5sor1234567ejd.12.2019.05.30.02.03.04 for <me@example.com>"
	  " (Google Transport Security); Thu, 30 May 2019 02:03:04 -0700"
	  " (PDT)",
	  "[ ip=209.85.220.41 rdns=mail-sor-f41.google.com"
	  " helo=mail-sor-f41.google.com by=mx.google.com ident="
	  " envfrom= intl=0 id=x5sor1234567ejd.12.2019.05.30.02.03.04"
	  " auth= msa=0 ]" },
	/* obtuse smtpd, smap, MDaemon */
	{ "from TCE-E-7-182-54.bta.net.cn(202.106.182.54) via SMTP by"
	  " st.tahina.priv.at, id smtpdEDUB8h; Sun Nov 13 14:50:12 2005",
	  "[ ip=202.106.182.54 rdns=TCE-E-7-182-54.bta.net.cn helo="
	  " by=st.tahina.priv.at ident= envfrom= intl=0 id=smtpdEDUB8h"
	  " auth= msa=0 ]" },
	{ "from snake.corp.yahoo.com(216.145.52.229) by x.x.org via smap"
	  " (V1.3) id xma093673; Wed, 26 Mar 03 20:43:24 -0600",
	  "[ ip=216.145.52.229 rdns=snake.corp.yahoo.com helo="
	  " by=x.x.org ident= envfrom= intl=0 id=xma093673 auth= msa=0 ]" },
	{ "from acecomms [202.83.84.95] by mailscan.acenet.net.au"
	  " [202.83.84.27] with SMTP (MDaemon.PRO.v5.0.6.R) for"
	  " <spamassassin-talk@lists.sourceforge.net>; Fri, 21 Feb 2003"
	  " 09:32:27 +1000",
	  "[ ip=202.83.84.95 rdns= helo=acecomms"
	  " by=mailscan.acenet.net.au ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	/* qmail-scanner, "from x by y;", no "from" */
	{ "from 156.56.111.196 by blazing.arsecandle.org (envelope-from"
	  " <gentoo-announce-return-530-rod=arsecandle.org@lists.gentoo.o"
	  "rg>, uid 502) with qmail-scanner-1.24 (clamdscan: 0.80/594."
	  " Clear:RC:0(156.56.111.196):. Processed in 0.288806 secs); 06"
	  " Feb 2005 21:11:38 -0000",
	  NULL },
	{ "from virtual-access.org by bolero.conactive.com ; Thu, 20 Feb"
	  " 2003 23:32:58 +0100",
	  NULL },
	{ "from [86.122.158.69] by mta2.iomartmail.com; Thu, 2 Aug 2007"
	  " 21:50:04 -0200",
	  "[ ip=86.122.158.69 rdns= helo=!86.122.158.69!"
	  " by=mta2.iomartmail.com ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	{ "by faerber.muc.de (OpenXP/32 v3.9.4 (Win32) alpha @"
	  " 2003-03-07-1751d); 07 Mar 2003 22:10:29 +0000",
	  NULL },
	{ "from raptor.research.att.com (bala@localhost) by"
	  " raptor.research.att.com (SGI-8.9.3/8.8.7) with ESMTP id"
	  " KAA14788 for <asrg@example.com>; Fri, 7 Mar 2003 10:37:56"
	  " -0500 (EST)",
	  NULL },
	/* Yahoo, AOL */
	{ "from itrqtnlnq (lucilleskinner@93.124.107.183 with login) by"
	  " smtp111.mail.ne1.yahoo.com with SMTP; 17 Jan 2011 08:23:27"
	  " -0800 PST",
	  "[ ip=93.124.107.183 rdns= helo=itrqtnlnq"
	  " by=smtp111.mail.ne1.yahoo.com ident= envfrom= intl=0 id="
	  " auth= msa=0 ]" },
	{ "from imo-m01.mx.aol.com ([64.12.136.4]) by"
	  " eagle.glenraven.com via smtpd (for [198.85.87.98]) with"
	  " SMTP; Wed, 08 Oct 2003 16:25:37 -0400",
	  "[ ip=64.12.136.4 rdns= helo=imo-m01.mx.aol.com"
	  " by=eagle.glenraven.com ident= envfrom= intl=0 id= auth="
	  " msa=0 ]" },
	/* Office 365 (an address without brackets: rDNS and HELO), amavisd-new, Exim with a port */
	{ "from DB8PR04MB6890.eurprd04.prod.outlook.com"
	  " (2603:10a6:10:10e::20) by"
	  " DB6PR0402MB2853.eurprd04.prod.outlook.com"
	  " (2603:10a6:4:9a::20) with Microsoft SMTP Server"
	  " (version=TLS1_2,"
	  " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id"
	  " 15.20.3066.24; Tue, 9 Jun 2020 10:00:00 +0000",
	  "[ ip=2603:10a6:10:10e::20"
	  " rdns=DB8PR04MB6890.eurprd04.prod.outlook.com"
	  " helo=DB8PR04MB6890.eurprd04.prod.outlook.com"
	  " by=DB6PR0402MB2853.eurprd04.prod.outlook.com ident= envfrom="
	  " intl=0 id=15.20.3066.24 auth= msa=0 ]" },
	{ "from mail.example.com ([127.0.0.1]) by localhost"
	  " (mail.example.com [127.0.0.1]) (amavisd-new, port 10024)"
	  " with ESMTP id abcDEF123 for <a@b.c>; Mon, 1 May 2023"
	  " 09:00:00 +0200 (CEST)",
	  "[ ip=127.0.0.1 rdns= helo=mail.example.com by=localhost"
	  " ident= envfrom= intl=0 id=abcDEF123 auth= msa=0 ]" },
	{ "from mail.example.com ([192.0.2.1]:43210"
	  " helo=mail.example.com) by mx.example.org with esmtps"
	  " (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim"
	  " 4.96) (envelope-from <b@example.com>) id 1q-000; Mon, 01 May"
	  " 2023 09:00:00 +0000",
	  "[ ip=192.0.2.1 rdns=mail.example.com helo=mail.example.com"
	  " by=mx.example.org ident= envfrom=b@example.com intl=0"
	  " id=1q-000 auth= msa=0 ]" },
	/* qmail with a HELO literal and an address as the user, OpenSMTPD's local submission */
	{ "from unknown (HELO ?192.168.1.5?)"
	  " (user@example.com@198.51.100.3) by smtp.example.net with"
	  " ESMTPA; 1 May 2023 09:00:00 -0000",
	  "[ ip=198.51.100.3 rdns= helo=?192.168.1.5?"
	  " by=smtp.example.net ident=user@example.com envfrom= intl=0"
	  " id= auth=ESMTPA msa=0 ]" },
	{ "from localhost (example.com [local]) by example.com"
	  " (OpenSMTPD) with ESMTPA id 5db34e0d for <email@example.com>;"
	  " Tue, 7 Apr 2020 01:38:29 -0600 (MDT)",
	  NULL },
	/* Gmail submission, CommuniGate Pro "verified", smap with a HELO */
	{ "from smtpclient.apple ([2a02:8108:1:2::3]) by smtp.gmail.com"
	  " with ESMTPSA id"
	  " x1-20020a170906000100b0094f000000sm1234567ejd.1.2023.05.01.09"
	  ".00.00 for <u@example.com> (version=TLS1_3"
	  " cipher=TLS_AES_128_GCM_SHA256 bits=128/128); Mon, 01 May"
	  " 2023 09:00:00 -0700 (PDT)",
	  "[ ip=2a02:8108:1:2::3 rdns= helo=smtpclient.apple"
	  " by=smtp.gmail.com ident= envfrom= intl=0"
	  " id=x1-20020a170906000100b0094f000000sm1234567ejd.1.2023.05.01"
	  ".09.00.00 auth=ESMTPSA msa=0 ]" },
	{ "from host.example.com ([192.0.2.1] verified) by"
	  " mail.example.net (CommuniGate Pro SMTP 5.1.13) with ESMTP id"
	  " 9786656 for user@example.net; Thu, 27 Mar 2008 15:08:17 +0600",
	  "[ ip=192.0.2.1 rdns=host.example.com helo=host.example.com"
	  " by=mail.example.net ident= envfrom= intl=0 id=9786656 auth="
	  " msa=0 ]" },
	{ "from smtp.greyware.com(208.14.208.51, HELO smtp.sff.net) by"
	  " x.x.org via smap (V1.3) id xma002908; Fri, 27 Feb 04"
	  " 14:16:56 -0800",
	  "[ ip=208.14.208.51 rdns=smtp.greyware.com helo=smtp.sff.net"
	  " by=x.x.org ident= envfrom= intl=0 id=xma002908 auth= msa=0 ]" },
	/* SquirrelMail behind a proxy, ecelerity without a name, a stray ";",
	   a bare address before a last "by": unreadable for SpamAssassin too */
	{ "from cacher2-ext.wise.edt.ericsson.se ([194.237.142.13])"
	  " (proxying for 159.107.166.28) (SquirrelMail authenticated"
	  " user cj@nologic.org) by mail.nologic.org with HTTP; Mon, 7"
	  " Oct 2002 09:43:11 +0100 (BST)",
	  "[ ip=159.107.166.28 rdns= helo= by=mail.nologic.org ident="
	  " envfrom= intl=0 id= auth=HTTP msa=0 ]" },
	{ "from ([10.225.209.19:33672]) by ecelerity-va-1 (ecelerity"
	  " HEAD) with SMTP id EE/20-30863-33CE1054; Fri, 08 Sep 2006"
	  " 18:18:27 -0400",
	  NULL },
	{ "from ade (unknown [217.67.143.26]); by mail.online.ie with"
	  " SMTP id 835DA701D; for <webdev@linux.ie>; Mon, 19 Aug 2002"
	  " 12:11:45 +0100 (IST)",
	  "[ ip=217.67.143.26 rdns= helo=ade by=mail.online.ie ident="
	  " envfrom= intl=0 id=835DA701D auth= msa=0 ]" },
	{ "from andira.wanadoo.fr (193.252.19.152) by"
	  " caroubier.wanadoo.fr; 28 Jul 2001 15:59:31 +0200",
	  "" },
	/* no address: unparseable */
	{ "from foo.example (bar) by baz.example with ESMTP id 123abc;"
	  " Mon, 1 Jan 2007 00:00:00 +0000",
	  "" },
	{ "from some host with broken syntax",
	  "" },
	/* SpamAssassin turns an originating_ip_headers value into this line
	   and parses it as a relay; we make those relays directly (see
	   M1_ORIG), so here it is what it looks like, a field without a
	   receiving host: a conscious difference */
	{ "from X-Originating-IP: 192.0.2.5",
	  "" },
};

/* the parse of LINE as "[ ... ]", "SKIPPED" or "UNPARSEABLE" */
static char *parse_str(const char *line)
{
	struct received_relay r;
	struct str out = STR_INIT;

	switch (received_parse_line(line, &r)) {
	case RECEIVED_SKIPPED:
		str_appends(&out, "SKIPPED");
		break;
	case RECEIVED_UNPARSEABLE:
		str_appends(&out, "UNPARSEABLE");
		break;
	case RECEIVED_RELAY:
		received_relay_str(&r, &out);
		received_relay_free(&r);
		break;
	}
	return str_steal(&out);
}

/* LINE as a message carries it: folded at every third blank, with a
   leading blank and the line end */
static char *folded(const char *line)
{
	struct str out = STR_INIT;
	int blanks = 0;

	str_appendc(&out, ' ');
	for (; *line; line++) {
		if (*line == ' ' && ++blanks % 3 == 0)
			str_appends(&out, "\n\t");
		else
			str_appendc(&out, *line);
	}
	str_appendc(&out, '\n');
	return str_steal(&out);
}

static void test_lines(void)
{
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *want = lines[i].want == NULL ? "SKIPPED"
				 : lines[i].want[0] == '\0' ? "UNPARSEABLE"
							    : lines[i].want;
		char *got = parse_str(lines[i].line);
		char *f = folded(lines[i].line);
		char *got_f = parse_str(f);

		TEST_IS_STR(got, want, "line %zu: %.50s", i + 1, lines[i].line);
		TEST_IS_STR(got_f, want, "line %zu folded", i + 1);
		free(got);
		free(got_f);
		free(f);
	}
}

/* ------------------------------------------------------------ tokens */

/* the clauses of TEXT as "from=a by=b" ("-" for a clause without a word
   first), then "|" and the kinds of the tokens: w word, ( comment with
   the number of tokens in it, ; semicolon, g before one with no blank
   before it */
static char *clauses_str(const char *text)
{
	static const char *const names[RECEIVED_CLAUSE_COUNT] = {
		"from", "by", "via", "with", "id", "for",
	};
	struct received_tokens t;
	struct str out = STR_INIT;
	size_t i;
	int c;

	received_token_split(text, strlen(text), &t);
	for (c = 0; c < RECEIVED_CLAUSE_COUNT; c++) {
		const char *v = received_token_value(&t, (enum received_clause)c);

		if (received_token_has(&t, (enum received_clause)c))
			str_printf(&out, "%s=%s ", names[c], v ? v : "-");
	}
	str_appendc(&out, '|');
	for (i = 0; i < t.n; i++) {
		if (t.v[i].glued)
			str_appendc(&out, 'g');
		if (t.v[i].kind == RECEIVED_TOKEN_WORD)
			str_appendc(&out, 'w');
		else if (t.v[i].kind == RECEIVED_TOKEN_SEMICOLON)
			str_appendc(&out, ';');
		else
			str_printf(&out, "(%zu", t.v[i].end - i - 1);
	}
	received_token_free(&t);
	return str_steal(&out);
}

static void test_tokens(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "from a (b [1.2.3.4] (may be forged)) by c (8.1/8.1) with "
		  "ESMTP id x; Mon, 1 Jan 2024",
		  "from=a by=c with=ESMTP id=x "
		  "|ww(6gww(3gwwwww(1gwwwwwg;wwww" },
		/* sendmail -t: the from clause inside the first comment */
		{ "(from u@localhost) by h id x",
		  "from=u@localhost by=h id=x |(2gwwwwww" },
		/* the last ';' ends the clauses, a ';' in a comment none */
		{ "from a (b; c) by d; with e; date",
		  "from=a by=d with=e |ww(3gwg;wwwg;wwg;w" },
		/* an unclosed comment runs to the end */
		{ "from a (b by c", "from=a |ww(3gwww" },
		/* a keyword met again is a word; FROM and BY as well */
		{ "FROM a BY b from c", "from=a by=b |wwwwww" },
		{ "from a(b)by c with", "from=a by=c with=- |wwg(1gwgwww" },
		/* a quoted pair in a comment; none outside */
		{ "from a (y\\) z) by b\\(", "from=a by=b\\ |ww(2gwwwwg(0" },
		{ "", "|" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = clauses_str(cases[i].text);

		TEST_IS_STR(got, cases[i].want, "tokens %zu: %s", i + 1,
			    cases[i].text);
		free(got);
	}
}

/* the address an originating_ip_headers value stands for ("" none), as
   SpamAssassin finds it */
static void test_originating(void)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "[192.0.2.44]", "192.0.2.44" },
		{ "192.0.2.44, 10.0.0.1", "192.0.2.44" },
		{ "IPv6:2001:db8::1", "2001:db8::1" },
		{ "[2001:DB8::A]", "2001:DB8::A" },
		{ "client 10.1.2.3 via proxy", "10.1.2.3" },
		{ "abc.1.2.3.4", "1.2.3.4" },
		{ "::ffff:10.0.0.1", "10.0.0.1" },
		{ "1.2.3.4.5", "1.2.3.4" },
		{ "999.1.2.3 and 8.8.8.8", "8.8.8.8" },
		{ "fe80::1%eth0", "fe80::1" },
		{ "unknown", "" },
		{ "cafe:babe", "" },
		{ "", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct received_relay r;
		int found = received_field_originating(cases[i].value, &r);

		TEST_IS_STR(found ? r.ip : "", cases[i].want, "originating %s",
			    cases[i].value);
		if (found) {
			TEST_OK(r.by[0] == '\0' && r.helo[0] == '\0',
				"only the address known");
			received_relay_free(&r);
		}
	}
}

/* ------------------------------------------------------------ netset */

static void test_netset(void)
{
	struct netset *ns = netset_new(1);
	const char *error = NULL;

	TEST_IS_INT(netset_count(ns), 2, "loopback entries");
	TEST_OK(netset_contains(ns, "127.1.2.3"), "127/8 always in");
	TEST_OK(netset_contains(ns, "::1"), "::1 always in");
	TEST_OK(netset_contains(ns, "::ffff:127.0.0.1"), "mapped loopback");
	TEST_OK(!netset_contains(ns, "10.1.2.3"), "10.1.2.3 not yet");
	TEST_IS_INT(netset_add(ns, "10.", &error), 1, "\"10.\" added");
	TEST_OK(netset_contains(ns, "10.200.0.1"), "\"10.\" is 10/8");
	TEST_IS_INT(netset_add(ns, "!192.168.1.5", &error), 1,
		    "exclusion added");
	TEST_IS_INT(netset_add(ns, "192.168/16", &error), 1,
		    "\"192.168/16\" added");
	TEST_OK(netset_contains(ns, "192.168.200.1"), "192.168/16 holds");
	TEST_OK(!netset_contains(ns, "192.168.1.5"), "the exclusion first");
	TEST_IS_INT(netset_add(ns, "172.16.5", &error), 1, "\"172.16.5\"");
	TEST_OK(netset_contains(ns, "172.16.5.77") &&
		!netset_contains(ns, "172.16.6.1"), "\"172.16.5\" is a /24");
	TEST_IS_INT(netset_add(ns, "198.51.100.0/255.255.255.128", &error),
		    1, "dotted netmask");
	TEST_OK(netset_contains(ns, "198.51.100.127") &&
		!netset_contains(ns, "198.51.100.128"), "netmask /25");
	TEST_IS_INT(netset_add(ns, "[2001:db8::]/32", &error), 1,
		    "bracketed IPv6 network");
	TEST_OK(netset_contains(ns, "2001:db8:1::5"), "IPv6 inside");
	TEST_OK(!netset_contains(ns, "2001:db9::5"), "IPv6 outside");
	TEST_IS_INT(netset_add(ns, "fe80::1%eth0", &error), 1,
		    "a scope is ignored");
	TEST_OK(netset_contains(ns, "fe80::1"), "scoped address");
	TEST_IS_INT(netset_add(ns, "::ffff:203.0.113.0/120", &error), 1,
		    "IPv4-mapped network");
	TEST_OK(netset_contains(ns, "203.0.113.9"), "mapped holds IPv4");
	TEST_OK(!netset_contains(ns, ""), "no address: not in");
	TEST_OK(!netset_contains(ns, "!1.2.3.4!"), "not an address: not in");

	/* an entry inside an earlier one is dropped, as in SpamAssassin */
	TEST_IS_INT(netset_add(ns, "!10.1.2.3", &error), 0,
		    "exclusion after its network: dropped");
	TEST_LIKE(error, "inside an earlier entry", "says why");
	TEST_OK(netset_contains(ns, "10.1.2.3"), "10.1.2.3 still in");
	TEST_IS_INT(netset_add(ns, "192.168.1.5", &error), 0,
		    "inside an exclusion: dropped");
	TEST_LIKE(error, "excluded", "says excluded");

	/* bad entries */
	TEST_IS_INT(netset_add(ns, "10.0.0.0/33", &error), -1, "/33 refused");
	TEST_IS_STR(error, "bad network mask", "its error");
	TEST_IS_INT(netset_add(ns, "300.1.", &error), -1, "octet > 255");
	TEST_IS_STR(error, "bad IPv4 address", "its error");
	TEST_IS_INT(netset_add(ns, "1.2.3.4.", &error), -1,
		    "five parts refused");
	TEST_IS_INT(netset_add(ns, "mail.example.com", &error), -1,
		    "no names");
	TEST_IS_STR(error, "not an IP address or network", "its error");
	TEST_IS_INT(netset_add(ns, "10.0.0.1-10.0.0.9", &error), -1,
		    "no ranges");
	TEST_LIKE(error, "ranges", "its error");
	TEST_IS_INT(netset_add(ns, "2001:db8::/129", &error), -1,
		    "/129 refused");
	TEST_IS_INT(netset_add(ns, "255.255.0.0/255.0.255.0", &error), -1,
		    "a netmask with holes");

	netset_clear(ns, 0);
	TEST_IS_INT(netset_count(ns), 0, "cleared without loopback");
	TEST_OK(!netset_contains(ns, "127.0.0.1"), "empty set holds nothing");
	netset_deinit(&ns);
	TEST_OK(ns == NULL, "deinit sets NULL");
}

/* ---------------------------------------------------------- messages */

/* private first hop, then a relay, then an authenticated client */
static const char MSG1[] =
	"Return-Path: <bounce@example.com>\n"
	"Received: from mx.example.org (mx.example.org [10.0.0.5])\n"
	"\tby mail.example.org (Postfix) with ESMTP id AAA111;\n"
	"\tMon, 1 Jan 2024 10:00:02 +0000\n"
	"Received: from relay.example.net (relay.example.net [198.51.100.7])\n"
	"\tby mx.example.org (Postfix) with ESMTP id BBB222;\n"
	"\tMon, 1 Jan 2024 10:00:01 +0000\n"
	"Received: from [192.168.1.20] (dsl.example.com [203.0.113.9])\n"
	"\tby relay.example.net (Postfix) with ESMTPSA id CCC333;\n"
	"\tMon, 1 Jan 2024 10:00:00 +0000\n"
	"X-Spam-Relays-Untrusted: [ ip=1.2.3.4 rdns=forged ]\n"
	"X-Originating-IP: [192.0.2.44]\n"
	"From: a@example.com\n"
	"Subject: hi\n"
	"\n"
	"body\n";

#define M1_R1 "[ ip=10.0.0.5 rdns=mx.example.org helo=mx.example.org " \
	"by=mail.example.org ident= envfrom= intl=1 id=AAA111 auth= msa=0 ]"
#define M1_R2(intl, msa) "[ ip=198.51.100.7 rdns=relay.example.net " \
	"helo=relay.example.net by=mx.example.org ident= envfrom= " \
	"intl=" intl " id=BBB222 auth= msa=" msa " ]"
#define M1_R3 "[ ip=203.0.113.9 rdns=dsl.example.com " \
	"helo=!192.168.1.20! by=relay.example.net ident= envfrom= intl=0 " \
	"id=CCC333 auth=ESMTPSA msa=0 ]"
#define M1_ORIG "[ ip=192.0.2.44 rdns= helo= by= ident= envfrom= intl=0 " \
	"id= auth= msa=0 ]"

/* a fetchmail line, a qmail-scanner line, a local injection, junk */
static const char MSG2[] =
	"Received: from laptop.home (laptop.home [192.168.0.2]) by gw.home "
	"(Postfix) with ESMTP id EEE555; Mon, 1 Jan 2024 10:00:06 +0000\n"
	"Received: from imap.example.org [10.0.0.9]\n"
	"\tby gw.home with IMAP (fetchmail-6.4.0)\n"
	"\tfor <me@localhost> (single-drop); Mon, 1 Jan 2024 10:00:05 +0000\n"
	"Received: from mx.example.org (mx.example.org [10.0.0.5]) by "
	"imap.example.org (Postfix) with LMTP id DDD444; Mon, 1 Jan 2024 "
	"10:00:04 +0000\n"
	"Received: from 198.51.100.20 by mx.example.org (envelope-from "
	"<list-bounce@lists.example.com>, uid 502) with qmail-scanner-1.24 "
	"(clamdscan: 0.80/594. Clear:RC:0(198.51.100.20):. Processed in 0.2 "
	"secs); 01 Jan 2024 10:00:03 -0000\n"
	"Received: from lists.example.com (HELO lists.example.com) "
	"(198.51.100.20) by mx.example.org with SMTP; 1 Jan 2024 10:00:02 "
	"-0000\n"
	"Received: (qmail 1234 invoked by uid 1000); 1 Jan 2024 10:00:01 "
	"-0000\n"
	"Received: from strange host without address by nowhere\n"
	"From: b@example.com\n"
	"Subject: fetched\n"
	"\n"
	"body\n";

#define M2_LAPTOP(intl) "[ ip=192.168.0.2 rdns=laptop.home " \
	"helo=laptop.home by=gw.home ident= envfrom= intl=" intl \
	" id=EEE555 auth= msa=0 ]"
#define M2_MX(intl) "[ ip=10.0.0.5 rdns=mx.example.org helo=mx.example.org " \
	"by=imap.example.org ident= envfrom= intl=" intl " id=DDD444 auth= " \
	"msa=0 ]"
#define M2_LIST "[ ip=198.51.100.20 rdns=lists.example.com " \
	"helo=lists.example.com by=mx.example.org ident= " \
	"envfrom=list-bounce@lists.example.com intl=0 id= auth= msa=0 ]"

static void report(void *ctx, int error, const char *text)
{
	struct str *out = ctx;

	str_printf(out, "%s: %s\n", error ? "error" : "warning", text);
}

static struct received_conf *conf_with(const char *const *directives)
{
	struct received_conf *conf = received_conf_new();
	struct str problems = STR_INIT;

	received_conf_directive(conf, "originating_ip_headers",
				"X-Originating-IP X-Apparently-From", report,
				&problems);
	for (; *directives; directives += 2)
		received_conf_directive(conf, directives[0], directives[1],
					report, &problems);
	TEST_IS_STR(str_c(&problems), "", "directives taken without a word");
	str_deinit(&problems);
	return conf;
}

static void check_lists(const struct received *rcv, const char *what,
			const char *t, const char *u, const char *i,
			const char *e, int lt, int li)
{
	TEST_IS_STR(received_relays_str(rcv, RECEIVED_TRUSTED), t,
		    "%s: trusted", what);
	TEST_IS_STR(received_relays_str(rcv, RECEIVED_UNTRUSTED), u,
		    "%s: untrusted", what);
	TEST_IS_STR(received_relays_str(rcv, RECEIVED_INTERNAL), i,
		    "%s: internal", what);
	TEST_IS_STR(received_relays_str(rcv, RECEIVED_EXTERNAL), e,
		    "%s: external", what);
	TEST_IS_INT(received_boundary(rcv, 0), lt, "%s: trust boundary", what);
	TEST_IS_INT(received_boundary(rcv, 1), li, "%s: internal boundary",
		    what);
}

static void test_inferred(void)
{
	const char *none[] = { NULL };
	struct received_conf *conf = conf_with(none);
	struct message *m1 = message_parse(MSG1, sizeof(MSG1) - 1);
	struct message *m2 = message_parse(MSG2, sizeof(MSG2) - 1);
	struct received *rcv;

	/* the private first hop is trusted, the public relay is not, and
	   the authenticated client after it does not matter any more */
	rcv = received_parse(conf, m1);
	check_lists(rcv, "inferred", M1_R1,
		    M1_R2("0", "0") " " M1_R3 " " M1_ORIG, M1_R1,
		    M1_R2("0", "0") " " M1_R3 " " M1_ORIG, 0, 0);
	TEST_IS_INT(received_count(rcv, RECEIVED_UNTRUSTED), 3,
		    "originating IP appended as a relay");
	TEST_OK(received_relay(rcv, RECEIVED_TRUSTED, 0)->ip_private,
		"10.0.0.5 is private");
	TEST_OK(received_relay(rcv, RECEIVED_TRUSTED, 1) == NULL,
		"past the end: NULL");
	TEST_OK(received_envfrom(rcv) == NULL, "no envfrom in the relays");
	TEST_IS_INT(received_unparseable(rcv), 0, "all parsed");
	received_deinit(&rcv);
	TEST_OK(rcv == NULL, "deinit sets NULL");

	/* fetchmail restarts the lists; qmail-scanner's envelope sender goes
	   to the next relay, which is then the envelope sender */
	rcv = received_parse(conf, m2);
	check_lists(rcv, "fetched", M2_MX("1"), M2_LIST, M2_MX("1"), M2_LIST,
		    3, 3);
	TEST_IS_STR(received_envfrom(rcv), "list-bounce@lists.example.com",
		    "envelope sender from the carried envfrom");
	TEST_IS_INT(received_unparseable(rcv), 1, "one unparseable field");
	received_deinit(&rcv);
	message_deinit(&m1);
	message_deinit(&m2);
	received_conf_deinit(&conf);
}

static void test_configured(void)
{
	const char *with_msa[] = {
		"trusted_networks", "198.51.100.0/24 10/8",
		"internal_networks", "10.",
		"msa_networks", "198.51.100.7",
		NULL,
	};
	const char *internal_only[] = {
		"internal_networks", "10/8", NULL,
	};
	const char *cleared[] = {
		"trusted_networks", "0/0",
		"clear_trusted_networks", "",
		"clear_originating_ip_headers", "",
		NULL,
	};
	struct message *m1 = message_parse(MSG1, sizeof(MSG1) - 1);
	struct message *m2 = message_parse(MSG2, sizeof(MSG2) - 1);
	struct received_conf *conf = conf_with(with_msa);
	struct received *rcv;

	/* the MSA hands its status (trusted, external) to all older hops */
	rcv = received_parse(conf, m1);
	check_lists(rcv, "msa", M1_R1 " " M1_R2("0", "1") " " M1_R3 " "
		    M1_ORIG, "", M1_R1, M1_R2("0", "1") " " M1_R3 " " M1_ORIG,
		    3, 0);
	received_deinit(&rcv);
	/* 192.168.0.2 is not in trusted_networks: nothing is trusted */
	rcv = received_parse(conf, m2);
	check_lists(rcv, "configured, fetched", "", M2_LAPTOP("0") " "
		    M2_MX("0") " " M2_LIST, "", M2_LAPTOP("0") " " M2_MX("0")
		    " " M2_LIST, -1, -1);
	TEST_OK(received_envfrom(rcv) == NULL,
		"the newest untrusted relay has no envfrom");
	received_deinit(&rcv);
	received_conf_deinit(&conf);

	/* internal_networks alone stands for trusted_networks too */
	conf = conf_with(internal_only);
	rcv = received_parse(conf, m1);
	check_lists(rcv, "internal only", M1_R1,
		    M1_R2("0", "0") " " M1_R3 " " M1_ORIG, M1_R1,
		    M1_R2("0", "0") " " M1_R3 " " M1_ORIG, 0, 0);
	received_deinit(&rcv);
	received_conf_deinit(&conf);

	/* cleared: inference again, and no originating header */
	conf = conf_with(cleared);
	rcv = received_parse(conf, m1);
	check_lists(rcv, "cleared", M1_R1, M1_R2("0", "0") " " M1_R3, M1_R1,
		    M1_R2("0", "0") " " M1_R3, 0, 0);
	received_deinit(&rcv);
	received_conf_deinit(&conf);
	message_deinit(&m1);
	message_deinit(&m2);
}

static void test_directives(void)
{
	struct received_conf *conf = received_conf_new();
	struct str problems = STR_INIT;

	TEST_IS_INT(received_conf_directive(conf, "score", "X 1", report,
					    &problems), 0,
		    "other directives are not ours");
	TEST_IS_INT(received_conf_directive(conf, "trusted_networks",
					    "10.0.0.0/33 192.168. 10.1.2.3/8",
					    report, &problems), 1,
		    "trusted_networks taken");
	TEST_IS_INT(received_conf_directive(conf, "trusted_networks",
					    "192.168.7.7", report, &problems),
		    1, "a covered entry");
	TEST_IS_INT(received_conf_directive(conf, "internal_networks", "",
					    report, &problems), 1,
		    "empty internal_networks");
	TEST_IS_INT(received_conf_directive(conf, "clear_msa_networks", "x",
					    report, &problems), 1,
		    "clear_msa_networks with a value");
	TEST_IS_INT(received_conf_directive(conf, "originating_ip_headers", "",
					    report, &problems), 1,
		    "empty originating_ip_headers");
	TEST_IS_STR(str_c(&problems),
		    "error: trusted_networks 10.0.0.0/33: bad network mask; "
		    "skipped\n"
		    "warning: trusted_networks 192.168.7.7: inside an earlier "
		    "entry; ignored\n"
		    "error: internal_networks: no network given\n"
		    "error: clear_msa_networks takes no value\n"
		    "error: originating_ip_headers: no header name\n",
		    "each problem reported once, errors apart from warnings");
	str_deinit(&problems);
	received_conf_deinit(&conf);
	TEST_OK(conf == NULL, "deinit sets NULL");
}

/* -------------------------------------------------------- rule engine */

static void write_rules(const char *text)
{
	write_file("50_relays.cf", text);
}

static const char RULES[] =
	"originating_ip_headers X-Originating-IP\n"
	"trusted_networks 10/8\n"
	"header R_TRUSTED X-Spam-Relays-Trusted =~ "
	"/^\\[ ip=10\\.0\\.0\\.5 rdns=mx\\.example\\.org .* intl=1 .*\\]$/\n"
	"header R_EXTERNAL X-Spam-Relays-External =~ "
	"/^\\[ ip=198\\.51\\.100\\.7 rdns=relay\\.example\\.net /\n"
	"header R_CASE x-spam-relays-untrusted =~ /ip=203\\.0\\.113\\.9 /\n"
	"header R_ORIG X-Spam-Relays-Untrusted =~ / by= ident= [^\\]]+\\]$/\n"
	"header R_INTERNAL X-Spam-Relays-Internal =~ /^\\[ [^\\]]+\\]$/\n"
	"header R_FORGED X-Spam-Relays-Untrusted =~ /ip=1\\.2\\.3\\.4/\n"
	"header R_ALL_TRUSTED ALL-TRUSTED =~ "
	"/\\AReturn-Path: .*\\nReceived: from relay\\.example\\.net "
	"[^\\n]*\\n\\z/s\n"
	"header R_ALL_EXTERNAL ALL-EXTERNAL =~ "
	"/\\AReceived: from relay\\.example\\.net .*^Subject: hi$/sm\n"
	"header R_ALL_UNTRUSTED_RAW ALL-UNTRUSTED:raw =~ "
	"/\\AReceived: from relay\\.example\\.net \\(relay\\.example\\.net "
	"\\[198\\.51\\.100\\.7\\]\\)\\n\\tby/\n"
	"header R_ALL_INTERNAL ALL-INTERNAL =~ /X-Originating-IP/\n"
	"header R_ENVFROM EnvelopeFrom =~ /^bounce\\@example\\.com$/\n"
	"header R_EXISTS exists:X-Spam-Relays-Trusted\n";

/* Return-Path after the relay */
static const char MSG3[] =
	"Received: from relay.example.net (relay.example.net [198.51.100.7]) "
	"by mx.example.org (Postfix) with ESMTP id BBB222\n"
	"Return-Path: <bounce@example.com>\n"
	"\n"
	"x\n";

static const char MSG4[] =
	"Received: from a.example (a.example [192.168.3.3]) by b.example "
	"(Postfix) with ESMTP id X1\n"
	"\n"
	"x\n";

/* the rule set as spamtrap uses it, with the directives in a .cf */
static void test_rules(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	static const char *const want_hits[] = {
		"R_TRUSTED", "R_EXTERNAL", "R_CASE", "R_ORIG", "R_INTERNAL",
		"R_ALL_TRUSTED", "R_ALL_EXTERNAL", "R_ALL_UNTRUSTED_RAW",
		"R_ENVFROM", "R_EXISTS", NULL,
	};
	size_t i;

	write_rules(RULES);
	rs = load(&lint);
	TEST_OK(rs != NULL, "relay rules load");
	if (rs == NULL)
		return;
	TEST_IS_INT(lint.errors, 0, "no errors");
	TEST_IS_INT(lint.loaded[RULE_HEADER], 12, "12 header rules run");
	TEST_IS_INT(lint.unsupported[RULE_HEADER], 0, "none unsupported");
	msg = message_parse(MSG1, sizeof(MSG1) - 1);
	rule_set_score(rs, msg, &res);
	for (i = 0; want_hits[i]; i++)
		TEST_OK(hit(&res, want_hits[i]), "%s hits", want_hits[i]);
	TEST_OK(!hit(&res, "R_FORGED"),
		"the message's own X-Spam-Relays-Untrusted is not used");
	TEST_OK(!hit(&res, "R_ALL_INTERNAL"),
		"ALL-INTERNAL stops at the internal boundary");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);

	/* Return-Path after a Received: line is no envelope sender, and
	   without trusted_networks the relay is external */
	write_rules("header R_ENVFROM EnvelopeFrom =~ /bounce/\n"
		    "header R_NONE EnvelopeFrom =~ /^$/ [if-unset: unset]\n"
		    "header R_EXTERNAL X-Spam-Relays-External =~ "
		    "/^\\[ ip=198\\.51\\.100\\.7 /\n");
	rs = load(&lint);
	msg = message_parse(MSG3, sizeof(MSG3) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(!hit(&res, "R_ENVFROM") && !hit(&res, "R_NONE"),
		"Return-Path after Received: not the envelope sender");
	TEST_OK(hit(&res, "R_EXTERNAL"), "inferred: public relay external");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);

	/* bad directives: warned with file:line, the rest of the line kept */
	write_rules("trusted_networks 10.0.0.0/33 192.168.\n"
		    "clear_internal_networks now\n"
		    "trusted_networks 192.168.1.1\n"
		    "header R_T X-Spam-Relays-Trusted =~ "
		    "/ip=192\\.168\\.3\\.3/\n");
	rs = load(&lint);
	TEST_IS_INT(lint.errors, 2, "two bad lines");
	TEST_LIKE(str_c(&lint.messages), "50_relays.cf:1: trusted_networks "
		  "10.0.0.0/33: bad network mask; skipped", "bad mask warned");
	TEST_LIKE(str_c(&lint.messages), "50_relays.cf:2: "
		  "clear_internal_networks takes no value", "bad clear warned");
	TEST_LIKE(str_c(&lint.messages), "50_relays.cf:3: trusted_networks "
		  "192.168.1.1: inside an earlier entry; ignored",
		  "covered entry: a warning, not an error");
	msg = message_parse(MSG4, sizeof(MSG4) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(hit(&res, "R_T"), "the good entry of the bad line is used");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
}

int main(void)
{
	rules_test_dir("st2006");
	test_tokens();
	test_lines();
	test_originating();
	test_netset();
	test_inferred();
	test_configured();
	test_directives();
	test_rules();
	clean_dir();
	return test_done();
}
