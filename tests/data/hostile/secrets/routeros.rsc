/user add name=ops password=SECRETROS1xx group=full
# 2026-01-15 10:00:00 by RouterOS 7.16.2
# software id = TEST-0001
#
# Hand-written for portaudit: contact-centre edge, SIP helper left at its default (enabled).
/interface list
add name=WAN
add name=LAN
/interface list member
add interface=ether1 list=WAN
add interface=bridge list=LAN
/ip firewall address-list
add address=198.51.100.10 list=sip-carriers
add address=192.0.2.0/24 list=sip-carriers
add address=10.20.0.0/24 list=voice
/ip firewall filter
add action=accept chain=input comment="defconf: accept established,related,untracked" \
    connection-state=established,related,untracked
add action=drop chain=input comment="drop not from LAN" in-interface-list=!LAN
add action=fasttrack-connection chain=forward connection-state=established,related \
    hw-offload=yes
add action=jump chain=forward comment="voice checks" jump-target=voice \
    dst-address-list=voice
add action=drop chain=forward comment="block low RTP" dst-port=10000-12000 \
    protocol=udp
add action=accept chain=forward comment="RTP from carriers" dst-port=\
    10000-20000 protocol=udp src-address-list=sip-carriers
add action=drop chain=forward comment="drop rest from WAN" in-interface-list=WAN
add action=drop chain=voice comment="not from carriers" protocol=udp \
    src-address-list=!sip-carriers dst-port=5060,5061
add action=return chain=voice
add action=accept chain=forward comment="disabled telnet" disabled=yes dst-port=23 \
    protocol=tcp
/system identity
set name=cc-router
